import pytest


@pytest.fixture(autouse=True)
def _fresh_verify_budget():
    """The public verify pages count requests per client address in the cache; every test
    starts with a fresh minute so the counts of earlier tests never leak into it."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
