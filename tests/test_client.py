"""consent.client.ConsentClient against the real server (live_server): answers, cache, and
fail-closed on errors, timeouts and an unreachable server."""

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from consent.client import ConsentClient


@pytest.fixture
def client(api):
    return ConsentClient(api.root, api.site.key, api.key, timeout=5, cache_seconds=60)


def test_it_answers_what_the_check_api_answers(api, client):
    visitor = api.decide(categories={"analytics": True})["consent_id"]
    assert client.allowed(visitor, "analytics") is True
    assert client.allowed(visitor, "marketing") is False
    assert client.allowed(uuid.UUID(visitor), "preferences") is False
    assert client.allowed(uuid.uuid4(), "analytics") is False  # never decided
    assert client.allowed(uuid.uuid4(), "authentication") is True


def test_with_the_visitors_region_it_answers_by_their_regime(api, client):
    nobody = uuid.uuid4()
    assert client.allowed(nobody, "marketing", region="US-CA") is True  # opt-out: allowed until opted out
    assert client.allowed(nobody, "marketing", region="DE") is False  # opt-in: asked first
    assert client.allowed(nobody, "marketing") is False  # unknown: the strictest
    assert client.allowed(nobody, "marketing", region="US-CA") is True  # a refusal kept for DE is DE's alone


def test_a_withdrawal_is_obeyed_at_once_by_the_same_client(api, client):
    visitor = api.decide(categories={"marketing": True})["consent_id"]
    assert client.allowed(visitor, "marketing") is True
    assert client.allowed(visitor, "marketing") is True
    api.decide(consent_id=visitor, action="withdraw")
    assert client.allowed(visitor, "marketing") is False


def test_refusals_are_kept_for_cache_seconds_and_can_be_forgotten(api, client):
    visitor = api.decide(action="reject_all")["consent_id"]
    assert client.allowed(visitor, "marketing") is False
    api.decide(consent_id=visitor, categories={"marketing": True})
    assert client.allowed(visitor, "marketing") is False  # the kept refusal: fail-closed, never open
    client.forget(visitor)  # e.g. from the verified webhook announcing the opt-in
    assert client.allowed(visitor, "marketing") is True
    uncached = ConsentClient(api.root, api.site.key, api.key, cache_seconds=0)
    api.decide(consent_id=visitor, action="reject_all")
    assert uncached.allowed(visitor, "marketing") is False
    api.decide(consent_id=visitor, categories={"marketing": True})
    assert uncached.allowed(visitor, "marketing") is True


def test_the_cache_is_bounded(api):
    small = ConsentClient(api.root, api.site.key, api.key, max_cached=2)
    for _ in range(3):
        small.allowed(uuid.uuid4(), "analytics")
    assert len(small._cache) == 2


@pytest.mark.parametrize(
    ("site_key", "key", "category", "consent_id"),
    [
        (None, "cmp_wrong", "analytics", None),  # 401
        (None, None, "no_such_category", None),  # 404
        ("nosuchsite", None, "analytics", None),  # 404
        (None, None, "analytics", "not-a-uuid"),  # 404
    ],
)
def test_errors_answer_false(api, site_key, key, category, consent_id):
    visitor = api.decide(action="accept_all")["consent_id"]
    client = ConsentClient(api.root, site_key or api.site.key, key or api.key)
    assert client.allowed(consent_id or visitor, category) is False
    assert client._cache == {}  # a failure is not remembered


def test_an_unreachable_server_answers_false():
    client = ConsentClient("http://127.0.0.1:9", "site", "cmp_key", timeout=1)
    assert client.allowed(uuid.uuid4(), "analytics") is False
    assert client.allowed(uuid.uuid4(), "authentication") is True


def test_a_server_slower_than_the_timeout_answers_false():
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self):
            release.wait(5)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"allowed": true, "reason": "granted"}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = ConsentClient(f"http://127.0.0.1:{server.server_port}", "site", "cmp_key", timeout=0.2)
        # The server would say yes, but only after the client stopped waiting.
        assert client.allowed(uuid.uuid4(), "analytics") is False
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_malformed_answer_is_false():
    class Odd(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"allowed": "yes"}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Odd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = ConsentClient(f"http://127.0.0.1:{server.server_port}", "site", "cmp_key")
        assert client.allowed(uuid.uuid4(), "analytics") is False
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
