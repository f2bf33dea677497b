import pytest
from django.core.cache import cache
from django.core.servers.basehttp import WSGIRequestHandler

from consent.api.throttles import _local_counts
from tests.factories import make_api_key, make_site
from tests.staff import sign_in_staff  # noqa: F401  (tests import it from here)

# The live server writes a response's headers and body apart; with Nagle's algorithm on, the body
# waits for the client's delayed ACK, 40 ms per kept-alive request. Production runs gunicorn.
WSGIRequestHandler.disable_nagle_algorithm = True


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache and throttle, as the database starts empty."""
    cache.clear()
    _local_counts.clear()
    yield
    cache.clear()
    _local_counts.clear()


@pytest.fixture(autouse=True)
def _webhooks_may_call_loopback(settings):
    """The tests' webhook receivers listen on 127.0.0.1, which production refuses by default
    (tests/test_webhooks_outbound.py turns it back off)."""
    settings.CMP_WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture(autouse=True)
def _scanner_may_visit_loopback(settings):
    """The tests' sites for the cookie scanner listen on 127.0.0.1 too, whoever starts the scan."""
    settings.CMP_SCANNER_ALLOW_PRIVATE = True


@pytest.fixture(autouse=True)
def _residency_lenient(settings):
    """The tests' own queries on visitors' data name no site; production refuses that while data
    regions are configured (the PostgreSQL pass configures one). tests/test_residency*.py turn it
    back on for the product's own code."""
    settings.CMP_RESIDENCY_STRICT = False


@pytest.fixture
def site(db):
    return make_site()


@pytest.fixture
def api_key(site):
    return make_api_key(site)


@pytest.fixture
def operator(client, db):
    """A superuser signed in with their second factor, on Django's test client."""
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("operator", password="pw-123456789")
    sign_in_staff(client, user)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's, with the second factor the admin requires."""
    return sign_in_staff(client, admin_user)


class Api:
    """Real HTTP against the live server, for one site."""

    def __init__(self, base_url: str, site, key: str):
        import requests

        self.http = requests.Session()
        self.base = f"{base_url}/api/v1/sites/{site.key}"
        self.root = base_url
        self.site = site
        self.key = key
        self.tokens: dict[str, str] = {}  # consent id -> visitor token, as browsers keep them

    def auth(self, key: str | None = None) -> dict:
        return {"Authorization": f"Bearer {key or self.key}"}

    def get(self, path: str, key: str | None = None, **kwargs):
        return self.http.get(self.base + path, headers={**self.auth(key), **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, json=None, key: str | None = None, **kwargs):
        headers = {**(self.auth(key) if key else {}), **kwargs.pop("headers", {})}
        return self.http.post(self.base + path, json=json, headers=headers, **kwargs)

    def decide(self, **body):
        """A decision as the visitor's browser makes it, with the visitor token it holds."""
        body = {"action": "custom", "policy_version": 1, **body}
        if "consent_id" in body and "token" not in body and str(body["consent_id"]) in self.tokens:
            body["token"] = self.tokens[str(body["consent_id"])]
        response = self.post("/consents", json=body)
        assert response.status_code == 201, response.text
        recorded = response.json()
        if "token" in recorded:
            self.tokens[recorded["consent_id"]] = recorded["token"]
        return recorded


@pytest.fixture
def api(live_server, transactional_db):
    site = make_site(origins=("https://shop.example",))
    api = Api(live_server.url, site, make_api_key(site))
    yield api
    # Closing the kept-alive connections ends the server's threads, and with them their database
    # connections, before the database is flushed.
    api.http.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder for a module's deployments (tests/deployment.py): their databases and logs."""
    return tmp_path_factory.mktemp("deployment")


@pytest.fixture(scope="module")
def database(workdir):
    """A database of the module's own for its deployments, migrated once: a SQLite file, or a
    PostgreSQL database beside the suite's, dropped after the module."""
    from tests.deployment import Database

    database = Database(workdir)
    yield database
    database.drop()


def in_region(*, transaction: bool = False):
    """The marks of a test that uses the data region `us` (the PostgreSQL pass's second database,
    Makefile: DATABASE_URLS_BY_REGION): skipped where it is not configured (the SQLite pass)."""
    from django.conf import settings

    def marked(test):
        test = pytest.mark.django_db(transaction=transaction, databases=["default", "region_us"])(test)
        return pytest.mark.skipif(
            "region_us" not in settings.DATABASES, reason="needs the data region us (DATABASE_URLS_BY_REGION)"
        )(test)

    return marked


@pytest.fixture
def strict_residency(settings):
    """Production's rule: a query on visitors' data that names no site or database is refused."""
    settings.CMP_RESIDENCY_STRICT = True


@pytest.fixture
def regional_site(settings, strict_residency):
    """A site whose visitors' data lives in the second PostgreSQL database, the PostgreSQL pass's
    data region `us` (Makefile: DATABASE_URLS_BY_REGION). Its test is marked `@in_region()`."""
    return make_site(name="US shop", origins=("https://shop.example.us",), data_region="us")
