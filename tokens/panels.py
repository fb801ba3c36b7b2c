"""Dashboard panels (registered in TokensConfig.ready)."""

from tokens.offerings import selectors


def platform_panel(request) -> dict:
    return selectors.tokens_overview()
