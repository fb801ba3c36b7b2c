"""Root pytest configuration. Each app contributes fixtures in tests/fixtures/<name>.py;
they are all loaded here so any test can use them."""

import pathlib

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}"
    for p in (pathlib.Path(__file__).parent / "tests" / "fixtures").glob("*.py")
    if p.stem != "__init__"
)
