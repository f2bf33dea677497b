import pytest
from django.core.cache import cache

from tests.factories import make_api_key, make_site


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache, as the database starts empty."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site(db):
    return make_site()


@pytest.fixture
def api_key(site):
    return make_api_key(site)
