"""`make run` (config.settings.dev under gunicorn) shows the platform's own 404 and 500 pages,
never Django's debug pages with settings and tracebacks (issue 18), and still serves static
files (WhiteNoise, no DEBUG needed)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest
from django.test import override_settings
from django.urls import include, path

from config import urls as config_urls

ROOT = pathlib.Path(__file__).resolve().parents[2]

# What `make run`'s web process does with a request, in a fresh interpreter with its settings.
PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
c = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1")
missing = c.get("/no-such-page/")
static = c.get("/static/css/app.css")
print(json.dumps({"debug": settings.DEBUG, "status": missing.status_code, "page": missing.content.decode(),
                  "static": static.status_code}))
"""


def test_make_run_settings_answer_a_missing_page_with_the_projects_404(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.dev", MEDRWA_VAR_DIR=str(tmp_path / "var"))
    run = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["debug"] is False and seen["status"] == 404
    assert "Page not found" in seen["page"] and "Back to the start" in seen["page"]
    assert "URLconf" not in seen["page"] and "DEBUG = True" not in seen["page"]
    assert seen["static"] == 200


def _boom(request):
    raise RuntimeError("kaput")


# The project's routes (for the page's links) plus one that fails; config.urls' own handler.
urlpatterns = [path("boom/", _boom), path("", include("config.urls"))]
handler500 = config_urls.handler500


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_an_error_renders_the_projects_500_page(client):
    client.raise_request_exception = False
    r = client.get("/boom/")
    assert r.status_code == 500
    page = r.content.decode()
    assert "kaput" not in page and "Traceback" not in page
    assert "Something went wrong on our side. It has been logged." in page and "Error 500" in page
