"""The server-to-server endpoints backend services call with an API key, over real HTTP."""

import uuid

import pytest

from consent.models import ApiKey, ConsentRecord, ErasureMarker
from consent.services.sites import publish_policy, revoke_api_key
from tests.factories import make_api_key, make_site


def test_may_i_for_a_visitor_who_chose(api):
    visitor = api.decide(categories={"analytics": True})["consent_id"]
    analytics = api.get(f"/consents/{visitor}/categories/analytics")
    assert analytics.status_code == 200
    assert analytics.json() == {"allowed": True, "reason": "granted"}
    assert api.get(f"/consents/{visitor}/categories/marketing").json() == {"allowed": False, "reason": "refused"}
    assert api.get(f"/consents/{visitor}/categories/authentication").json()["allowed"] is True


def test_may_i_is_fail_closed_for_unknown_visitors(api):
    stranger = uuid.uuid4()
    response = api.get(f"/consents/{stranger}/categories/marketing")
    assert response.status_code == 200
    assert response.json() == {"allowed": False, "reason": "no_decision"}
    assert api.get(f"/consents/{stranger}/categories/authentication").json() == {
        "allowed": True,
        "reason": "strictly_necessary",
    }


def test_may_i_refuses_outdated_decisions(api):
    visitor = api.decide(action="accept_all")["consent_id"]
    publish_policy(site=api.site, material=True)
    assert api.get(f"/consents/{visitor}/categories/analytics").json() == {"allowed": False, "reason": "outdated"}
    assert api.get(f"/consents/{visitor}").json()["status"] == "outdated"


def test_unknown_category_is_404(api):
    visitor = api.decide()["consent_id"]
    response = api.get(f"/consents/{visitor}/categories/tracking")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_category"


def test_a_malformed_consent_id_is_404(api):
    response = api.get("/consents/not-a-uuid/categories/analytics")
    assert response.status_code == 404
    assert "UUID" in response.json()["error"]["message"]


def test_current_state(api):
    visitor = api.decide(categories={"preferences": True})["consent_id"]
    body = api.get(f"/consents/{visitor}").json()
    assert body["status"] == "valid"
    assert body["categories"]["preferences"] is True
    assert set(body) >= {"consent_id", "categories", "policy_version", "decided_at", "expires_at", "status"}
    assert api.get(f"/consents/{uuid.uuid4()}").status_code == 404


def test_withdrawn_status(api):
    visitor = api.decide(action="accept_all")["consent_id"]
    api.decide(consent_id=visitor, action="withdraw")
    assert api.get(f"/consents/{visitor}").json()["status"] == "withdrawn"
    assert api.get(f"/consents/{visitor}/categories/analytics").json() == {"allowed": False, "reason": "withdrawn"}


def test_batch_check(api):
    yes = api.decide(action="accept_all")["consent_id"]
    no = api.decide(action="reject_all")["consent_id"]
    stranger = str(uuid.uuid4())
    response = api.post(
        "/consents/check", json={"consent_ids": [yes, no, stranger], "categories": ["marketing"]}, key=api.key
    )
    assert response.status_code == 200
    assert response.json() == {
        "results": {yes: {"marketing": True}, no: {"marketing": False}, stranger: {"marketing": False}}
    }
    every = api.post("/consents/check", json={"consent_ids": [yes]}, key=api.key).json()["results"][yes]
    assert list(every) == ["authentication", "preferences", "analytics", "marketing"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"consent_ids": []},
        {"consent_ids": "abc"},
        {"consent_ids": ["not-a-uuid"]},
        {"consent_ids": [str(uuid.uuid4())], "categories": "analytics"},
        {"consent_ids": [str(uuid.uuid4()) for _ in range(1001)]},
    ],
)
def test_batch_check_bad_input_is_400(api, body):
    response = api.post("/consents/check", json=body, key=api.key)
    assert response.status_code in (400, 413), response.text
    assert response.json()["error"]["message"]


def test_batch_check_unknown_category_is_404(api):
    response = api.post(
        "/consents/check", json={"consent_ids": [str(uuid.uuid4())], "categories": ["tracking"]}, key=api.key
    )
    assert response.status_code == 404


def test_history_is_every_decision_with_its_hash_chain(api):
    visitor = api.decide(action="accept_all")["consent_id"]
    api.decide(consent_id=visitor, action="reject_all")
    records = api.get(f"/consents/{visitor}/history").json()["records"]
    assert [r["action"] for r in records] == ["accept_all", "reject_all"]
    assert records[1]["prev_hash"] == records[0]["hash"]
    assert api.get(f"/consents/{uuid.uuid4()}/history").status_code == 404


def test_export_is_the_visitors_complete_data(api):
    visitor = api.decide(action="accept_all", language="fr", url="https://shop.example/p")["consent_id"]
    response = api.get(f"/consents/{visitor}/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    export = response.json()
    assert export["format"] == "cmp-consent-export/1"
    assert export["current"]["status"] == "valid"
    assert export["records"][0]["url"] == "https://shop.example/p"
    assert export["records"][0]["ip_address"] == "127.0.0.0"


def test_erasure_deletes_and_leaves_a_marker(api):
    visitor = api.decide(action="accept_all")["consent_id"]
    api.decide(consent_id=visitor, action="custom")
    response = api.http.delete(api.base + f"/consents/{visitor}", headers=api.auth())
    assert response.status_code == 200
    assert response.json()["erased_records"] == 2
    assert not ConsentRecord.objects.filter(consent_id=visitor).exists()
    assert ErasureMarker.objects.get().record_count == 2
    # Gone: the check is fail-closed again, and a second erasure finds nothing.
    assert api.get(f"/consents/{visitor}/categories/analytics").json()["reason"] == "no_decision"
    assert api.http.delete(api.base + f"/consents/{visitor}", headers=api.auth()).status_code == 404


def test_missing_wrong_and_malformed_keys_are_401(api):
    visitor = api.decide()["consent_id"]
    url = api.base + f"/consents/{visitor}/categories/analytics"
    for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}]:
        response = api.http.get(url, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["message"]
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_another_sites_key_is_403(api):
    other = make_site(name="Other", origins=("https://other.example",))
    visitor = api.decide()["consent_id"]
    response = api.get(f"/consents/{visitor}/categories/analytics", key=make_api_key(other))
    assert response.status_code == 403
    assert "another site" in response.json()["error"]["message"]


def test_a_revoked_key_stops_working_at_once(api):
    visitor = api.decide()["consent_id"]
    assert api.get(f"/consents/{visitor}/categories/analytics").status_code == 200  # cached now
    revoke_api_key(ApiKey.objects.get(site=api.site))
    assert api.get(f"/consents/{visitor}/categories/analytics").status_code == 401


def test_keys_are_stored_hashed_and_last_use_is_kept(api):
    stored = ApiKey.objects.get(site=api.site)
    assert api.key not in (stored.key_hash, stored.prefix)
    assert api.key.startswith(stored.prefix)
    assert stored.last_used_at is None
    api.get(f"/consents/{uuid.uuid4()}/categories/analytics")
    api.get(f"/consents/{uuid.uuid4()}/categories/analytics")
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_the_batch_check_takes_the_documented_thousand_ids(api):
    yes = api.decide(action="accept_all")["consent_id"]
    ids = [yes] + [str(uuid.uuid4()) for _ in range(999)]
    response = api.post("/consents/check", json={"consent_ids": ids, "categories": ["analytics"]}, key=api.key)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 1000 and results[yes] == {"analytics": True}
    too_many = api.post("/consents/check", json={"consent_ids": ids + [str(uuid.uuid4())]}, key=api.key)
    assert too_many.status_code == 400
