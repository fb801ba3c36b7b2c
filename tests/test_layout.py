import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_platform_folder_does_not_shadow_stdlib():
    """platform/ holds process definitions; a Python package there would shadow the
    standard library (uuid, celery, web3 and stripe break)."""
    assert not (ROOT / "platform" / "__init__.py").exists()
    out = subprocess.run(
        [sys.executable, "-c", "import platform, uuid; print(platform.__file__); print(platform.system())"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert not out[0].startswith(str(ROOT / "platform"))
    assert out[1]  # e.g. "Linux"


def test_ruff_keeps_a005_on():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"A"' in text and "A005" not in text.split("ignore", 1)[1].split("\n", 1)[0]
