"""Copy front-end libraries from node_modules into static/vendor/ (committed, so the app
serves them without Node and never from a CDN)."""

import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = {
    "node_modules/@picocss/pico/css/pico.min.css": "static/vendor/pico.min.css",
    "node_modules/htmx.org/dist/htmx.min.js": "static/vendor/htmx.min.js",
    "node_modules/chart.js/dist/chart.umd.min.js": "static/vendor/chart.umd.min.js",
}

if __name__ == "__main__":
    for src, dst in FILES.items():
        (ROOT / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / src, ROOT / dst)
