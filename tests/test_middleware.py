"""request.consent from the cmp_consent cookie: real cookie strings through Django's request
parsing and the middleware, fail-closed on anything but a valid decision."""

import json
import time
import uuid
from urllib.parse import quote

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from consent.consent_cookie import consent_from_cookies, parse_consent_cookie
from consent.middleware import ConsentCookieMiddleware

# What the widget writes, produced by node: encodeURIComponent(JSON.stringify(decision)).
WIDGET_COOKIE = (
    "%7B%22v%22%3A1%2C%22id%22%3A%223f2b8c1e-7d4a-4b9e-9c2f-1a2b3c4d5e6f%22%2C%22pv%22%3A2%2C%22t%22%3A1764000000"
    "%2C%22exp%22%3A1779724800%2C%22src%22%3A%22banner%22%2C%22c%22%3A%7B%22authentication%22%3A1%2C"
    "%22preferences%22%3A0%2C%22analytics%22%3A1%2C%22marketing%22%3A0%7D%7D"
)


def encode(decision: dict) -> str:
    """encodeURIComponent(JSON.stringify(decision)), as the widget does."""
    return quote(json.dumps(decision, separators=(",", ":")), safe="-_.!~*'()")


def decision(**overrides) -> dict:
    now = int(time.time())
    return {
        "v": 1, "id": str(uuid.uuid4()), "pv": 1, "t": now - 60, "exp": now + 86400, "src": "banner",
        "c": {"authentication": 1, "preferences": 0, "analytics": 1, "marketing": 0},
        **overrides,
    }  # fmt: skip


def through_middleware(cookie_header: str | None, **settings_overrides):
    headers = {"HTTP_COOKIE": cookie_header} if cookie_header is not None else {}
    request = RequestFactory().get("/shop/", **headers)
    seen = {}

    def view(req):
        seen["consent"] = req.consent
        return HttpResponse("ok")

    ConsentCookieMiddleware(view)(request)
    return seen["consent"]


def test_the_encoding_in_these_tests_matches_the_widgets():
    widget_decision = {
        "v": 1, "id": "3f2b8c1e-7d4a-4b9e-9c2f-1a2b3c4d5e6f", "pv": 2, "t": 1764000000, "exp": 1779724800,
        "src": "banner", "c": {"authentication": 1, "preferences": 0, "analytics": 1, "marketing": 0},
    }  # fmt: skip
    assert encode(widget_decision) == WIDGET_COOKIE
    assert parse_consent_cookie(WIDGET_COOKIE).categories == {
        "authentication": True,
        "preferences": False,
        "analytics": True,
        "marketing": False,
    }


def test_the_widgets_cookie_string_is_read_as_written():
    consent = consent_from_cookies({"cmp_consent": WIDGET_COOKIE}, now=1764000000 + 3600)
    assert consent.status == "valid"
    assert consent.consent_id == "3f2b8c1e-7d4a-4b9e-9c2f-1a2b3c4d5e6f"
    assert consent.decision.policy_version == 2 and consent.decision.source == "banner"
    assert [consent.allows(key) for key in ("authentication", "preferences", "analytics", "marketing")] == [
        True,
        False,
        True,
        False,
    ]
    assert consent_from_cookies({"cmp_consent": WIDGET_COOKIE}, now=1779724800).status == "expired"


def test_the_middleware_reads_a_real_cookie_header_among_others():
    value = decision()
    consent = through_middleware(f"sessionid=abc123; cmp_consent={encode(value)}; _ga=GA1.2.3.4")
    assert consent.status == "valid" and consent.consent_id == value["id"]
    assert consent.allows("analytics") is True
    assert consent.allows("marketing") is False
    assert consent.allows("a_category_never_asked") is False
    assert consent.allows("authentication") is True


@pytest.mark.parametrize(
    ("cookie_header", "status"),
    [
        (None, "missing"),
        ("sessionid=abc", "missing"),
        ("cmp_consent=", "missing"),
        ("cmp_consent=not-json", "invalid"),
        (f"cmp_consent={encode(decision())[:-9]}", "invalid"),  # cut short
        (f"cmp_consent={encode(decision(v=2))}", "invalid"),
        (f"cmp_consent={encode(decision(id='visitor-42'))}", "invalid"),
        (f"cmp_consent={encode(decision(c=['analytics']))}", "invalid"),
        (f"cmp_consent={encode(decision(c={'analytics': 'yes'}))}", "invalid"),
        (f"cmp_consent={encode(decision(c={'analytics': 2}))}", "invalid"),
        (f"cmp_consent={encode(decision(exp='tomorrow'))}", "invalid"),
        (f"cmp_consent={encode(decision(pv=True))}", "invalid"),
        (f"cmp_consent={encode([1, 2, 3])}", "invalid"),
        (f"cmp_consent={encode(decision(t=1, exp=int(time.time()) - 1))}", "expired"),
    ],
)
def test_anything_but_a_valid_cookie_allows_only_authentication(cookie_header, status):
    consent = through_middleware(cookie_header)
    assert consent.status == status
    assert consent.allows("analytics") is False
    assert consent.allows("marketing") is False
    assert consent.allows("authentication") is True


def test_a_decision_under_an_older_policy_than_required_allows_nothing(settings):
    settings.CMP_REQUIRED_POLICY_VERSION = 2
    old = through_middleware(f"cmp_consent={encode(decision(pv=1))}")
    assert (old.status, old.allows("analytics")) == ("outdated", False)
    current = through_middleware(f"cmp_consent={encode(decision(pv=2))}")
    assert (current.status, current.allows("analytics")) == ("valid", True)


def test_the_cookie_name_can_be_changed(settings):
    settings.CMP_CONSENT_COOKIE = "shop_consent"
    assert through_middleware(f"cmp_consent={encode(decision())}").status == "missing"
    assert through_middleware(f"shop_consent={encode(decision())}").allows("analytics") is True


def test_booleans_written_by_hand_are_accepted():
    consent = through_middleware(f"cmp_consent={encode(decision(c={'analytics': True, 'marketing': False}))}")
    assert consent.allows("analytics") and not consent.allows("marketing")
