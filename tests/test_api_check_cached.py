"""The category check's cached path (one cache round trip) answers exactly as the full path, and
the public throttle counts per IP in a bounded cache entry whatever the rate."""

import uuid

from django.test import RequestFactory

from consent.api.throttles import PublicRateThrottle
from consent.models import ApiKey
from consent.services.checks import check_with_api_key
from consent.services.sites import revoke_api_key
from tests.factories import decide, make_api_key, make_site


def test_the_direct_check_answers_for_a_valid_site_key_and_category(site, api_key, django_capture_on_commit_callbacks):
    visitor = decide(site, analytics=True).consent_id
    ask = {"site_key": site.key, "token": api_key, "consent_id": visitor, "key": "analytics"}
    assert check_with_api_key(**ask) == (True, "granted")
    assert check_with_api_key(**ask) == (True, "granted")  # with whatever the first one cached
    assert check_with_api_key(**{**ask, "key": "marketing"}) == (False, "refused")
    assert check_with_api_key(**{**ask, "consent_id": uuid.uuid4()}) == (False, "no_decision")
    # Everything else is left to the full path, which gives the error.
    assert check_with_api_key(**{**ask, "key": "tracking"}) is None
    assert check_with_api_key(**{**ask, "token": api_key + "x"}) is None
    assert check_with_api_key(**{**ask, "site_key": "no-such-site"}) is None
    with django_capture_on_commit_callbacks(execute=True):
        revoke_api_key(ApiKey.objects.get(site=site))
    assert check_with_api_key(**ask) is None


def test_the_cached_check_refuses_another_sites_key(site, api_key):
    other = make_site(name="Other", origins=("https://other.example",))
    other_key = make_api_key(other)
    ask = {"site_key": site.key, "token": other_key, "consent_id": uuid.uuid4(), "key": "analytics"}
    assert check_with_api_key(**ask) is None


def test_both_paths_answer_byte_for_byte_alike(api):
    visitor = api.decide(categories={"analytics": True})["consent_id"]
    path = f"/consents/{visitor}/categories/analytics"
    full = api.get(path)  # loads site, key and state into the cache
    cached = api.get(path)
    assert full.status_code == cached.status_code == 200
    assert full.content == cached.content == b'{"allowed":true,"reason":"granted"}'
    for header in ("Content-Type", "Allow", "Vary", "X-Frame-Options", "Content-Length"):
        assert full.headers.get(header) == cached.headers.get(header), header
    # An Accept the API cannot serve still gets DRF's 406, a HEAD its empty 200.
    assert api.get(path, headers={"Accept": "text/html"}).status_code == 406
    assert api.http.head(api.base + path, headers=api.auth()).status_code == 200


def test_a_cached_key_stops_working_when_revoked(api):
    visitor = api.decide()["consent_id"]
    path = f"/consents/{visitor}/categories/analytics"
    assert api.get(path).status_code == 200
    assert api.get(path).status_code == 200
    revoke_api_key(ApiKey.objects.get(site=api.site))
    response = api.get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_cached_answer_follows_a_new_decision(api):
    visitor = api.decide(categories={"analytics": True})["consent_id"]
    path = f"/consents/{visitor}/categories/analytics"
    assert api.get(path).json()["allowed"] is True
    assert api.get(path).json()["allowed"] is True
    api.decide(consent_id=visitor, action="withdraw")
    assert api.get(path).json() == {"allowed": False, "reason": "withdrawn"}


def test_another_sites_cached_key_is_refused(api):
    other = make_site(name="Other", origins=("https://other.example",))
    other_key = make_api_key(other)
    visitor = uuid.uuid4()
    assert api.http.get(f"{api.root}/api/v1/sites/{other.key}/consents/{visitor}/categories/analytics",
                        headers=api.auth(other_key)).status_code == 200  # fmt: skip
    assert api.get(f"/consents/{visitor}/categories/analytics").status_code == 200
    response = api.get(f"/consents/{visitor}/categories/analytics", key=other_key)
    assert response.status_code == 403


def test_last_used_is_written_once_not_per_request(api):
    visitor = api.decide()["consent_id"]
    for _ in range(3):
        assert api.get(f"/consents/{visitor}/categories/analytics").status_code == 200
    used = ApiKey.objects.get(site=api.site).last_used_at
    assert used is not None
    for _ in range(3):
        assert api.get(f"/consents/{visitor}/categories/analytics").status_code == 200
    assert ApiKey.objects.get(site=api.site).last_used_at == used


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def throttle(rate: str, clock: Clock) -> PublicRateThrottle:
    limited = type("Limited", (PublicRateThrottle,), {"rate": rate, "timer": staticmethod(clock)})
    return limited()


def request_from(ip: str):
    return RequestFactory().post("/api/v1/sites/x/consents", REMOTE_ADDR=ip)


def test_the_throttle_counts_per_ip_over_a_sliding_minute(db):
    clock = Clock()
    assert [throttle("3/min", clock).allow_request(request_from("192.0.2.1"), None) for _ in range(3)] == [True] * 3
    refused = throttle("3/min", clock)
    assert refused.allow_request(request_from("192.0.2.1"), None) is False
    assert 0 < refused.wait() <= 60
    assert throttle("3/min", clock).allow_request(request_from("192.0.2.2"), None) is True
    clock.now += 30
    assert throttle("3/min", clock).allow_request(request_from("192.0.2.1"), None) is False
    clock.now += 31
    assert throttle("3/min", clock).allow_request(request_from("192.0.2.1"), None) is True


def test_the_throttle_entry_stays_small_at_any_rate(db):
    clock = Clock()
    for _ in range(400):
        assert throttle("100000000/min", clock).allow_request(request_from("192.0.2.1"), None)
        clock.now += 0.25
    entry = throttle("100000000/min", clock).window_counts(request_from("192.0.2.1"))
    assert len(entry) <= PublicRateThrottle.BUCKETS
    assert sum(entry.values()) == 240  # the requests of the last minute, 4 a second
