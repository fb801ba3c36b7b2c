from config.settings.base import *

DEBUG = env.bool("DEBUG", default=True)
# Serve static files straight from the finders; no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
