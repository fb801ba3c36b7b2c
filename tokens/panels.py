"""Dashboard panels (registered in TokensConfig.ready)."""

from tokens import selectors


def platform_panel(request) -> dict:
    return selectors.tokens_overview()
