"""Signed receipts: served over real HTTP to the visitor, checked by the service."""

import uuid

import pytest

from consent.services.receipts import receipt as issue_receipt
from consent.services.receipts import verify_receipt
from consent.services.rights import erase_visitor
from consent.services.sites import site_snapshot
from tests.factories import decide, make_site


def test_the_receipt_of_the_latest_decision_is_signed_and_verifies(api):
    first = api.decide(categories={"analytics": True})
    visitor = first["consent_id"]
    latest = api.decide(consent_id=visitor, categories={"marketing": True})
    response = api.http.post(
        f"{api.base}/consents/{visitor}/receipt",
        json={"token": api.tokens[visitor]},
        headers={"Origin": "https://shop.example"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    receipt = response.json()
    assert receipt["consent_id"] == visitor
    assert receipt["hash"] == latest["hash"] != first["hash"]
    assert receipt["categories"] == {
        "analytics": False,
        "authentication": True,
        "marketing": True,
        "preferences": False,
    }
    assert (receipt["policy_version"], receipt["action"], receipt["source"]) == (1, "custom", "banner")
    assert receipt["key_id"].startswith("hmac-sha256:") and len(receipt["signature"]) == 64
    assert receipt["decided_at"].startswith(latest["decided_at"][:19])
    assert verify_receipt(site_snapshot(api.site.key), receipt).reason == "recorded"


@pytest.mark.parametrize(
    ("path", "origin", "status", "code"),
    [
        ("/consents/not-a-uuid/receipt", None, 404, "not_found"),
        (f"/consents/{uuid.uuid4()}/receipt", None, 404, "unknown_consent"),
        (f"/consents/{uuid.uuid4()}/receipt", "https://evil.example", 403, "permission_denied"),
    ],
)
def test_bad_receipt_requests_get_clear_json_errors(api, path, origin, status, code):
    headers = {"Origin": origin} if origin else {}
    response = api.http.get(api.base + path, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_an_unknown_site_has_no_receipts(api):
    response = api.http.get(f"{api.root}/api/v1/sites/nosuchsite/consents/{uuid.uuid4()}/receipt")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_site"


@pytest.fixture
def signed(db):
    site = make_site()
    visitor = decide(site, analytics=True).consent_id
    return site, visitor, issue_receipt(site_snapshot(site.key), visitor)


def test_a_changed_receipt_fails(signed):
    site, _, receipt = signed
    snapshot = site_snapshot(site.key)
    assert verify_receipt(snapshot, receipt).valid
    forged = {**receipt, "categories": {**receipt["categories"], "marketing": True}}
    assert verify_receipt(snapshot, forged).reason == "bad_signature"
    assert verify_receipt(snapshot, {**receipt, "policy_version": 2}).reason == "bad_signature"
    assert verify_receipt(snapshot, {**receipt, "signature": "0" * 64}).reason == "bad_signature"
    assert verify_receipt(snapshot, {k: v for k, v in receipt.items() if k != "hash"}).reason == "malformed"
    assert verify_receipt(snapshot, ["not", "a", "receipt"]).reason == "malformed"
    other = make_site(name="Other")
    assert verify_receipt(site_snapshot(other.key), receipt).reason == "malformed"


def test_a_receipt_signed_under_another_secret_key_is_unknown(signed, settings):
    site, _, receipt = signed
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert verify_receipt(site_snapshot(site.key), receipt).reason == "unknown_key"


def test_a_receipt_outlives_the_erasure_of_its_decision(signed):
    site, visitor, receipt = signed
    erase_visitor(site_snapshot(site.key), visitor)
    check = verify_receipt(site_snapshot(site.key), receipt)
    assert (check.valid, check.reason) == (True, "erased")
