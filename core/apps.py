"""The core app's wiring: puts back the recursion limit py_ecc raises on import."""

import sys

from django.apps import AppConfig

# CPython's own default. Its C JSON decoder recurses once per nesting level and stops at this
# limit with RecursionError; at 100,000 it overflows the C stack first and the process dies.
SAFE_RECURSION_LIMIT = 1000


class CoreConfig(AppConfig):
    name = "core"

    def ready(self):
        undo_py_ecc_recursion_limit()


def undo_py_ecc_recursion_limit() -> None:
    """py_ecc (imported by eth-keyfile under eth-account/web3) raises the interpreter-wide
    recursion limit to 100,000 on import. Then ~200 KB of nested brackets in any JSON body
    (the token endpoint needs no login) segfaults the worker. Import it here, where the order
    is ours, and put the limit back; nothing here needs py_ecc's deep pairing recursion."""
    import py_ecc  # noqa: F401

    sys.setrecursionlimit(min(sys.getrecursionlimit(), SAFE_RECURSION_LIMIT))
