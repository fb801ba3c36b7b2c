"""Extension points so apps plug into the shell without core importing them:
navigation links, dashboard panels and demo-data seeders. Apps register in AppConfig.ready()."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str]
    order: int = 100


@dataclass(frozen=True)
class DashboardPanel:
    template: str
    roles: frozenset[str]
    # context(request) -> dict for the template; keep it to a few queries.
    context: Callable = field(default=lambda request: {})
    order: int = 100


NAV: list[NavItem] = []
PANELS: list[DashboardPanel] = []
SEEDERS: list[tuple[int, Callable]] = []


def register_nav(label: str, url_name: str, *, roles, order: int = 100) -> None:
    item = NavItem(label, url_name, frozenset(roles), order)
    if item not in NAV:
        NAV.append(item)
        NAV.sort(key=lambda i: i.order)


def register_panel(template: str, *, roles, context: Callable | None = None, order: int = 100) -> None:
    if any(p.template == template for p in PANELS):
        return
    PANELS.append(DashboardPanel(template, frozenset(roles), context or (lambda request: {}), order))
    PANELS.sort(key=lambda p: p.order)


def register_seeder(fn: Callable, *, order: int = 100) -> None:
    """fn(stdout) creates demo data idempotently; `seed_demo` runs them by order."""
    if all(f is not fn for _, f in SEEDERS):
        SEEDERS.append((order, fn))
        SEEDERS.sort(key=lambda s: s[0])
