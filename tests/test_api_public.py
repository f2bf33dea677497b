"""The public endpoints the banner calls, over real HTTP."""

import uuid

import pytest

from consent.models import ConsentRecord

ORIGIN = {"Origin": "https://shop.example"}


def test_config_has_categories_texts_and_policy(api):
    response = api.http.get(api.base + "/config")
    assert response.status_code == 200
    config = response.json()
    assert [c["key"] for c in config["categories"]] == ["authentication", "preferences", "analytics", "marketing"]
    assert config["policy"]["version"] == 1
    assert config["texts"]["en"]["acceptAll"] == "Accept all"


def test_record_a_decision(api):
    response = api.post(
        "/consents",
        json={
            "categories": {"analytics": True},
            "action": "custom",
            "policy_version": 1,
            "language": "de",
            "url": "https://shop.example/a",
        },
        headers={**ORIGIN, "User-Agent": "TestBrowser/1.0"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["categories"] == {"authentication": True, "preferences": False, "analytics": True, "marketing": False}
    record = ConsentRecord.objects.get(consent_id=body["consent_id"])
    assert (record.language, record.url, record.user_agent, record.ip_address) == (
        "de", "https://shop.example/a", "TestBrowser/1.0", "127.0.0.0",
    )  # fmt: skip
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"


def test_the_browser_may_bring_its_own_consent_id(api):
    visitor = str(uuid.uuid4())
    assert api.decide(consent_id=visitor, action="accept_all")["consent_id"] == visitor
    assert api.decide(consent_id=visitor, action="reject_all")["consent_id"] == visitor
    assert ConsentRecord.objects.filter(consent_id=visitor).count() == 2


def test_sec_gpc_header_refuses_marketing(api):
    response = api.post("/consents", json={"action": "accept_all", "policy_version": 1}, headers={"Sec-GPC": "1"})
    assert response.status_code == 201
    assert response.json()["categories"]["marketing"] is False
    assert (response.json()["source"], response.json()["gpc"]) == ("banner", True)
    # The widget says so in the body too (navigator.globalPrivacyControl), from the preferences.
    body = {"action": "custom", "categories": {"marketing": True}, "policy_version": 1, "source": "preferences"}
    response = api.post("/consents", json={**body, "gpc": True})
    assert (response.json()["source"], response.json()["gpc"]) == ("preferences", True)
    assert response.json()["categories"]["marketing"] is False
    assert api.post("/consents", json=body).json()["gpc"] is False


def test_a_foreign_origin_is_refused_and_nothing_recorded(api):
    response = api.post(
        "/consents", json={"action": "accept_all", "policy_version": 1}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert "not registered" in response.json()["error"]["message"]
    assert ConsentRecord.objects.count() == 0


def test_cors_preflight_is_decided_per_site(api):
    allowed = api.http.options(api.base + "/consents", headers={**ORIGIN, "Access-Control-Request-Method": "POST"})
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://shop.example"
    foreign = api.http.options(
        api.base + "/consents", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in foreign.headers
    # Server-to-server endpoints are never opened to browsers.
    private = api.http.options(
        api.base + "/consents/check", headers={**ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in private.headers


BAD_BODIES = [
    (b"{not json", "parse_error"),
    (b'"a string"', "invalid"),
    (b"[]", "invalid"),
    (b'{"action": "accept_all"}', "invalid"),  # no policy version
    (b'{"action": "maybe", "policy_version": 1}', "invalid"),
    (b'{"action": "custom", "policy_version": "one"}', "invalid"),
    (b'{"action": "custom", "policy_version": 1, "categories": {"analytics": "yes"}}', "invalid"),
    (b'{"action": "custom", "policy_version": 1, "categories": ["analytics"]}', "invalid"),
    (b'{"action": "custom", "policy_version": 1, "categories": {"tracking": true}}', "invalid_decision"),
    (b'{"action": "custom", "policy_version": 99}', "invalid_decision"),
    (b'{"action": "custom", "policy_version": 1, "consent_id": "not-a-uuid"}', "invalid"),
    (b'{"action": "custom", "policy_version": 1, "source": "robot"}', "invalid"),
    (b"\xff\xfe", "parse_error"),
]


@pytest.mark.parametrize(("body", "code"), BAD_BODIES)
def test_bad_bodies_get_a_clear_400_and_record_nothing(api, body, code):
    response = api.post("/consents", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert ConsentRecord.objects.count() == 0


def test_an_oversized_body_is_refused_with_413(api):
    body = {"action": "custom", "policy_version": 1, "url": "x" * 20000}
    response = api.post("/consents", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_wrong_content_type_is_415(api):
    response = api.post(
        "/consents", data="action=accept_all", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 415
    assert "error" in response.json()


def test_unknown_site_is_404_json(api):
    response = api.http.post(
        api.root + "/api/v1/sites/nosuchsite/consents", json={"action": "accept_all", "policy_version": 1}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_site"
    assert api.http.get(api.root + "/api/v1/sites/nosuchsite/config").status_code == 404


def test_unknown_paths_and_methods_answer_json(api):
    missing = api.http.get(api.root + "/api/v1/nothing/here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = api.http.put(api.base + "/consents", json={})
    assert wrong_method.status_code == 405
    assert "error" in wrong_method.json()


def test_policy_versions_are_listed(api):
    from consent.services.sites import publish_policy

    publish_policy(site=api.site, material=True, summary="New vendors.")
    versions = api.http.get(api.base + "/policies").json()
    assert [(v["version"], v["material"]) for v in versions] == [(2, True), (1, True)]
    assert versions[0]["summary"] == "New vendors."


def test_forget_me_erases_the_visitors_decisions(api):
    visitor = api.decide(action="accept_all")["consent_id"]
    token = {"token": api.tokens[visitor]}
    response = api.http.post(api.base + f"/consents/{visitor}/forget", json=token, headers=ORIGIN)
    assert response.status_code == 200
    assert response.json()["erased_records"] == 1
    assert not ConsentRecord.objects.filter(consent_id=visitor).exists()
    assert api.http.post(api.base + f"/consents/{visitor}/forget", json=token).status_code == 404
    assert api.http.post(api.base + "/consents/zzz/forget").status_code == 404


def test_public_endpoints_are_throttled_per_ip(api):
    statuses = [api.http.get(api.base + "/config").status_code for _ in range(125)]
    assert statuses[:100] == [200] * 100
    assert statuses[-1] == 429


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/consents/{id}/forget"),
        ("post", "/consents/{id}/receipt"),
        ("post", "/consents/{id}/token"),
        ("post", "/impressions"),
    ],
)
def test_every_browser_endpoint_refuses_a_foreign_origin(api, method, path):
    visitor = api.decide(action="accept_all")["consent_id"]
    token = {"token": api.tokens[visitor]}
    url = api.base + path.format(id=visitor)
    foreign = getattr(api.http, method)(url, json=token, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403, foreign.text
    assert "not registered" in foreign.json()["error"]["message"]
    assert ConsentRecord.objects.filter(consent_id=visitor).exists()
    own = getattr(api.http, method)(url, json=token, headers=ORIGIN)
    assert own.status_code in (200, 204), own.text
