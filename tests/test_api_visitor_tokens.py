"""A consent id alone does not let anyone act as the visitor: changing, erasing or reading their
consent from a browser needs the visitor token their browser made with the id. Backend services act
with the site's API key; ids older than tokens keep working and are claimed once."""

import secrets
import uuid

import pytest

from consent.models import ConsentRecord, ConsentState

ORIGIN = {"Origin": "https://shop.example"}


def browser_token() -> str:
    return secrets.token_urlsafe(24)  # what the widget makes with the consent id


@pytest.fixture
def rejecting_visitor(api):
    token = browser_token()
    visitor = str(uuid.uuid4())
    api.decide(consent_id=visitor, token=token, action="reject_all")
    return visitor, token


def check(api, visitor: str) -> dict:
    return api.get(f"/consents/{visitor}/categories/analytics").json()


def test_the_id_alone_cannot_rewrite_erase_or_read_a_visitors_consent(api, rejecting_visitor):
    visitor, _ = rejecting_visitor
    forged = {"consent_id": visitor, "action": "accept_all", "policy_version": 1}
    for headers in ({}, ORIGIN):  # a curl without an Origin, and a page of the site itself
        response = api.http.post(f"{api.base}/consents", json=forged, headers=headers)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "visitor_token_refused"
        wrong = api.http.post(f"{api.base}/consents", json={**forged, "token": browser_token()}, headers=headers)
        assert wrong.status_code == 403
        assert api.http.post(f"{api.base}/consents/{visitor}/forget", headers=headers).status_code == 403
        assert api.http.get(f"{api.base}/consents/{visitor}/receipt", headers=headers).status_code == 403
        assert api.http.post(f"{api.base}/consents/{visitor}/receipt", json={}, headers=headers).status_code == 403
        claim = api.http.post(f"{api.base}/consents/{visitor}/token", json={"token": browser_token()}, headers=headers)
        assert claim.status_code == 403
    assert check(api, visitor) == {"allowed": False, "reason": "refused"}
    assert ConsentRecord.objects.filter(consent_id=visitor).count() == 1


def test_the_visitors_own_browser_changes_reads_and_erases(api, rejecting_visitor):
    visitor, token = rejecting_visitor
    changed = api.http.post(
        f"{api.base}/consents",
        json={"consent_id": visitor, "token": token, "action": "accept_all", "policy_version": 1},
        headers=ORIGIN,
    )
    assert changed.status_code == 201 and "token" not in changed.json()
    assert check(api, visitor) == {"allowed": True, "reason": "granted"}
    receipt = api.http.post(f"{api.base}/consents/{visitor}/receipt", json={"token": token}, headers=ORIGIN)
    assert receipt.status_code == 200 and receipt.json()["action"] == "accept_all"
    erased = api.http.post(f"{api.base}/consents/{visitor}/forget", json={"token": token}, headers=ORIGIN)
    assert erased.json()["erased_records"] == 2


def test_a_new_visitor_without_a_token_is_given_one(api):
    first = api.http.post(f"{api.base}/consents", json={"action": "reject_all", "policy_version": 1}, headers=ORIGIN)
    issued = first.json()["token"]
    visitor = first.json()["consent_id"]
    again = {"consent_id": visitor, "action": "accept_all", "policy_version": 1}
    assert api.http.post(f"{api.base}/consents", json=again, headers=ORIGIN).status_code == 403
    assert api.http.post(f"{api.base}/consents", json={**again, "token": issued}, headers=ORIGIN).status_code == 201


def test_a_backend_with_the_sites_api_key_acts_for_any_visitor(api, rejecting_visitor):
    visitor, _ = rejecting_visitor
    body = {"consent_id": visitor, "action": "accept_all", "policy_version": 1, "source": "api"}
    assert api.post("/consents", json=body, key=api.key).status_code == 201
    assert check(api, visitor)["allowed"] is True
    assert api.http.delete(f"{api.base}/consents/{visitor}", headers=api.auth()).status_code == 200


def test_an_id_older_than_tokens_keeps_working_until_its_browser_claims_it(api, rejecting_visitor):
    visitor, _ = rejecting_visitor
    ConsentState.objects.filter(consent_id=visitor).update(token_hash="")  # as recorded before tokens
    body = {"consent_id": visitor, "action": "custom", "categories": {"analytics": True}, "policy_version": 1}
    assert api.http.post(f"{api.base}/consents", json=body, headers=ORIGIN).status_code == 201
    assert api.http.get(f"{api.base}/consents/{visitor}/receipt", headers=ORIGIN).status_code == 200
    # The widget's next page view claims it, once; from then on the token is needed.
    token = browser_token()
    claimed = api.http.post(f"{api.base}/consents/{visitor}/token", json={"token": token}, headers=ORIGIN)
    assert claimed.status_code == 200 and claimed.json()["claimed"] is True
    again = api.http.post(f"{api.base}/consents/{visitor}/token", json={"token": token}, headers=ORIGIN)
    assert again.status_code == 200
    other = api.http.post(f"{api.base}/consents/{visitor}/token", json={"token": browser_token()}, headers=ORIGIN)
    assert other.status_code == 403
    assert api.http.post(f"{api.base}/consents", json=body, headers=ORIGIN).status_code == 403
    assert api.http.post(f"{api.base}/consents", json={**body, "token": token}, headers=ORIGIN).status_code == 201
    assert api.http.get(f"{api.base}/consents/{visitor}/receipt", headers=ORIGIN).status_code == 403


@pytest.mark.parametrize("token", ["short", "x" * 129, "has spaces in it, not url-safe!!", "é" * 30])
def test_a_malformed_token_is_400(api, token):
    body = {"consent_id": str(uuid.uuid4()), "action": "accept_all", "policy_version": 1, "token": token}
    response = api.http.post(f"{api.base}/consents", json=body, headers=ORIGIN)
    assert response.status_code == 400
    assert "token" in response.json()["error"]["message"]


def test_the_token_is_stored_hashed(api, rejecting_visitor):
    visitor, token = rejecting_visitor
    stored = ConsentState.objects.get(consent_id=visitor).token_hash
    assert len(stored) == 64 and token not in stored
