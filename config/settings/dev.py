"""Development settings (`make run`): static files from the finders, the local payment simulator; DEBUG
only when DEBUG=1 is set."""

from config.settings.base import *
from config.settings.base import env
from payments.guard import refuse_play_money_on_real_chain

# Off unless asked for (DEBUG=1): `make run` is the demo a newcomer sees, so a missing page or an
# error shows the platform's own 404/500 pages (config.urls handlers), never Django's debug pages
# with settings and tracebacks. Static files do not need DEBUG: WhiteNoise serves them (below).
DEBUG = env.bool("DEBUG", default=False)
# Serve static files straight from the finders; no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# A laptop without Stripe keys pays through the local simulator, signed with this public
# secret. Only dev.py and test.py know it; production.py refuses it.
STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or LOCAL_SIMULATOR_WEBHOOK_SECRET
PAYMENTS_SIMULATOR = env.bool("PAYMENTS_SIMULATOR", default=not STRIPE_SECRET_KEY)
# Play money (the simulator, its public webhook secret, test keys) only on a local or test
# chain: a laptop pointed at a public chain fails here, not at the first "payment".
refuse_play_money_on_real_chain(globals())
