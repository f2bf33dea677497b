"""A bounded fuzz of the API over real HTTP (loopback only): 2,000 malformed requests, seeded so a
failure can be replayed. Every answer must be below 500, and every answer of the API JSON."""

import json
import random
import uuid

import pytest

from consent.api.throttles import PublicRateThrottle

SEED = 20261125
REQUESTS = 2000

BODIES = [
    "[" * 5000 + "]" * 5000,
    '{"a":' * 2000 + "1" + "}" * 2000,
    '{"action": "\\ud800", "policy_version": 1}',
    '{"\\udfff": true}',
    '{"action": "accept_all", "policy_version": 1e999}',
    '{"action": "accept_all", "policy_version": NaN}',
    '{"action": "accept_all", "policy_version": -1}',
    '{"action": "accept_all", "policy_version": 99999999999999999999999}',
    '{"action": "accept_all", "policy_version": "1"}',
    '{"action": ["accept_all"], "policy_version": 1}',
    '{"action": "custom", "policy_version": 1, "categories": {"analytics": "yes"}}',
    '{"action": "custom", "policy_version": 1, "categories": [1, 2]}',
    '{"action": "custom", "policy_version": 1, "categories": {"x": true}}',
    '{"action": "accept_all", "policy_version": 1, "consent_id": "not-a-uuid"}',
    '{"action": "accept_all", "policy_version": 1, "language": "=1+2"}',
    '{"action": "accept_all", "policy_version": 1, "url": ' + json.dumps("x" * 5000) + "}",
    '{"consent_ids": ' + json.dumps([str(uuid.UUID(int=i)) for i in range(1001)]) + "}",
    '{"consent_ids": "all"}',
    '{"consent_ids": [null, 1, {}]}',
    '{"action": "accept_all", "policy_version": 1, "action": "withdraw"}',
    "null",
    "[]",
    '"text"',
    "{",
    "\xff\xfe\x00",
    "",
    "x" * 20000,
]
SUFFIXES = [
    "", "?format=xml", "?format=api", "?format=csv", "?format=json", ".json", "/", "//", "/../config",
    "?%ED%A0%80=1", "%ED%A0%80", "%00", "?consent_id=%ff", "/%2e%2e/", "?" + "a=1&" * 500,
]  # fmt: skip
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "",
                 "application/json; charset=latin-1", "application/xml"]  # fmt: skip


def paths(site_key: str) -> list[str]:
    visitor = str(uuid.uuid4())
    return [
        f"/api/v1/sites/{site_key}/config",
        f"/api/v1/sites/{site_key}/consents",
        f"/api/v1/sites/{site_key}/consents/check",
        f"/api/v1/sites/{site_key}/consents/{visitor}",
        f"/api/v1/sites/{site_key}/consents/{visitor}/categories/analytics",
        f"/api/v1/sites/{site_key}/consents/{visitor}/categories/%ED%A0%80",
        f"/api/v1/sites/{site_key}/consents/{visitor}/history",
        f"/api/v1/sites/{site_key}/consents/{visitor}/export",
        f"/api/v1/sites/{site_key}/consents/{visitor}/forget",
        f"/api/v1/sites/{site_key}/consents/{visitor}/receipt",
        f"/api/v1/sites/{site_key}/policies",
        f"/api/v1/sites/{site_key}/impressions",
        "/api/v1/sites/no-such-site/config",
        "/api/v1/sites/%ED%A0%80/config",
        "/api/v1/receipts/verify",
        "/api/v1/nothing",
    ]


def test_two_thousand_malformed_requests_get_no_5xx_and_json_errors(api, monkeypatch):
    monkeypatch.setattr(PublicRateThrottle, "rate", "100000000/min", raising=False)
    pick = random.Random(SEED)
    targets = paths(api.site.key)
    failures = []
    for number in range(REQUESTS):
        method = pick.choice(METHODS)
        path = pick.choice(targets) + pick.choice(SUFFIXES)
        headers = {"Content-Type": pick.choice(CONTENT_TYPES)}
        if pick.random() < 0.5:
            headers["Authorization"] = pick.choice([f"Bearer {api.key}", "Bearer x", "Bearer", "Basic Zm9vOmJhcg==",
                                                    f"Bearer {api.key} extra", "Bearer \u00e9"])  # fmt: skip
        if pick.random() < 0.5:
            headers["Origin"] = pick.choice(["https://shop.example", "https://evil.example", "null", "%%%"])
        if pick.random() < 0.2:
            headers["Accept"] = pick.choice(["text/html", "application/xml", "*/*", "application/json; q=0"])
        body = pick.choice(BODIES).encode("utf-8", "surrogatepass") if method in ("POST", "PUT", "PATCH") else None
        response = api.http.request(method, api.root + path, data=body, headers=headers, allow_redirects=False)
        problem = None
        if response.status_code >= 500:
            problem = "5xx"
        elif method != "HEAD" and response.status_code >= 400 and path.startswith("/api/"):
            try:
                assert "error" in response.json()
            except (ValueError, AssertionError):
                problem = "not a JSON error"
        if problem:
            failures.append((number, problem, method, path[:80], response.status_code, response.text[:120]))
    assert failures == [], f"{len(failures)} of {REQUESTS}: {failures[:5]}"


@pytest.mark.parametrize("body", BODIES[:4])
def test_bodies_that_broke_the_parser_are_400(api, body):
    response = api.post("/consents", data=body.encode("utf-8", "surrogatepass"),
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
