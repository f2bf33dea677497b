"""Data residency: a site pinned to a data region keeps its visitors' data in that region's database
alone (consent.residency), while the admin still sees every site. The PostgreSQL pass configures a
second PostgreSQL database as the region `us` (Makefile: DATABASE_URLS_BY_REGION); without it the
tests that need it skip. Production's strict rule is on: a query on visitors' data that names no
site or database fails the test instead of quietly running on the default database."""

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from consent.models import (
    ConsentRecord,
    ConsentState,
    ErasedRecord,
    ErasureMarker,
    ProofCheckpoint,
    Site,
    WebhookEndpoint,
)
from consent.residency import ResidencyError
from consent.services.proof import seal_site, verify_site
from consent.services.receipts import verify_receipt
from consent.services.records import chained_history
from consent.services.retention import purge
from consent.services.sites import site_snapshot
from tests.conftest import Api, in_region
from tests.factories import decide, make_api_key, make_site

ROOT = Path(__file__).resolve().parent.parent
REGION = "region_us"
REGIONAL = in_region(transaction=True)
PROOF = (ConsentRecord, ConsentState, ErasureMarker, ErasedRecord, ProofCheckpoint)


def held(model, site, alias: str) -> int:
    return model.objects.using(alias).filter(site_id=site.pk).count()


def held_nowhere_else(site, home: str, away: str) -> None:
    for model in PROOF:
        assert held(model, site, away) == 0, f"{model.__name__} of {site.name} in {away}"


def redis_names(fragment: str) -> list[bytes]:
    """Keys of the shared cache that name `fragment` (none without Redis)."""
    from django.core.cache import cache

    if "redis" not in type(cache).__module__:
        return []
    from django_redis import get_redis_connection

    return get_redis_connection("default").keys(f"*{fragment}*")


@REGIONAL
def test_decisions_checks_and_erasure_over_http_stay_in_the_sites_region(live_server, regional_site):
    home_site = make_site(name="EU shop")
    regional = Api(live_server.url, regional_site, make_api_key(regional_site))
    home = Api(live_server.url, home_site, make_api_key(home_site))
    try:
        accepting = regional.decide(action="accept_all")["consent_id"]
        rejecting = regional.decide(action="reject_all")["consent_id"]
        local = home.decide(action="accept_all")["consent_id"]

        def allowed(api, visitor):
            return api.get(f"/consents/{visitor}/categories/analytics").json()

        assert allowed(regional, accepting) == {"allowed": True, "reason": "granted"}
        assert allowed(regional, rejecting) == {"allowed": False, "reason": "refused"}
        assert allowed(home, local) == {"allowed": True, "reason": "granted"}
        # A withdrawal is answered at once: no cache may hold the regional visitor's earlier yes.
        regional.decide(consent_id=accepting, action="withdraw")
        assert allowed(regional, accepting) == {"allowed": False, "reason": "withdrawn"}
        batch = regional.post("/consents/check", json={"consent_ids": [accepting, rejecting]}, key=regional.key)
        assert {visitor: answer["analytics"] for visitor, answer in batch.json()["results"].items()} == {
            accepting: False,
            rejecting: False,
        }
        history = regional.get(f"/consents/{accepting}/history").json()
        assert [record["action"] for record in history["records"]] == ["accept_all", "withdraw"]
        assert regional.get(f"/consents/{accepting}/export").json()["consent_id"] == accepting
        receipt = regional.post(f"/consents/{rejecting}/receipt", json={"token": regional.tokens[rejecting]})
        assert receipt.status_code == 200 and receipt.json()["action"] == "reject_all"
        assert verify_receipt(site_snapshot(regional_site.key), receipt.json()).reason == "recorded"
        erased = regional.http.delete(f"{regional.base}/consents/{rejecting}", headers=regional.auth())
        assert erased.status_code == 200
        assert allowed(regional, rejecting) == {"allowed": False, "reason": "no_decision"}
    finally:
        regional.http.close()
        home.http.close()

    assert held(ConsentRecord, regional_site, REGION) == 2  # the erased visitor's one is gone
    assert held(ConsentState, regional_site, REGION) == 1
    assert held(ErasureMarker, regional_site, REGION) == 1
    assert held(ErasedRecord, regional_site, REGION) == 1
    held_nowhere_else(regional_site, REGION, "default")
    assert held(ConsentRecord, home_site, "default") == 1
    held_nowhere_else(home_site, "default", REGION)
    # The shared cache (beside the default database) holds the home visitor's state, never a regional one's.
    if redis_names(local):
        assert redis_names(accepting) == [] and redis_names(rejecting) == []


@REGIONAL
def test_seal_verify_purge_and_partitions_run_in_the_region(regional_site, capsys):
    now = timezone.now()
    old = uuid.uuid4()
    records, state = chained_history(
        regional_site.id,
        regional_site.key,
        old,
        [{"categories": {"authentication": True, "analytics": True}, "action": "custom", "policy_version": 1,
          "created_at": now - timedelta(days=400)}],
    )  # fmt: skip
    ConsentRecord.objects.using(REGION).bulk_create(records)
    state.save(using=REGION)
    recent = decide(regional_site, analytics=True)
    Site.objects.filter(pk=regional_site.pk).update(retention_days=365)

    checkpoint = seal_site(regional_site, now=now + timedelta(minutes=5))
    assert checkpoint is not None and checkpoint.record_count == 2 and checkpoint._state.db == REGION
    report = purge(now=now)
    assert (report.visitors, report.records) == (1, 1)
    assert ConsentRecord.objects.using(REGION).filter(site=regional_site).get().consent_id == recent.consent_id
    assert verify_site(regional_site).intact
    call_command("verifyproof", "--site", regional_site.key)
    assert "Intact" in capsys.readouterr().out
    held_nowhere_else(regional_site, REGION, "default")

    call_command("partitions", "--list")
    listed = capsys.readouterr().out
    assert "default: " in listed and f"{REGION}: consent_consentrecord_p" in listed


@REGIONAL
def test_the_admin_lists_a_regional_sites_records_and_deleting_the_site_empties_its_region(regional_site, admin_client):
    visitor = decide(regional_site, analytics=True).consent_id
    records = "/admin/consent/consentrecord/"
    unfiltered = admin_client.get(records)
    assert unfiltered.status_code == 200 and str(visitor) not in unfiltered.content.decode()
    assert "choose the site to see them" in unfiltered.content.decode()
    chosen = admin_client.get(records, {"site__id__exact": regional_site.pk})
    assert str(visitor) in chosen.content.decode()
    record = ConsentRecord.objects.using(REGION).get(consent_id=visitor)
    detail = admin_client.get(
        f"{records}{record.pk}/change/", {"_changelist_filters": f"site__id__exact={regional_site.pk}"}
    )
    assert detail.status_code == 200 and str(visitor) in detail.content.decode()
    state = admin_client.get("/admin/consent/consentstate/", {"site__id__exact": regional_site.pk})
    assert str(visitor) in state.content.decode()

    change = admin_client.get(f"/admin/consent/site/{regional_site.pk}/change/").content.decode()
    assert "Data residency" in change and 'name="data_region"' not in change  # shown, not editable
    assert 'name="data_region"' in admin_client.get("/admin/consent/site/add/").content.decode()

    WebhookEndpoint.objects.create(site=regional_site, url="https://hooks.example/consent")
    assert WebhookEndpoint.objects.using(REGION).filter(site_id=regional_site.pk).count() == 1
    Site.objects.get(pk=regional_site.pk).delete()
    assert Site.objects.using(REGION).filter(pk=regional_site.pk).count() == 0
    assert ConsentRecord.objects.using(REGION).filter(site_id=regional_site.pk).count() == 0
    assert ConsentState.objects.using(REGION).filter(site_id=regional_site.pk).count() == 0
    assert WebhookEndpoint.objects.using(REGION).filter(site_id=regional_site.pk).count() == 0


@REGIONAL
def test_a_sites_region_is_chosen_once_and_must_be_configured(regional_site, capsys):
    assert Site.objects.using(REGION).get(pk=regional_site.pk).name == regional_site.name  # the copy
    regional_site.data_region = ""
    with pytest.raises(ValidationError, match="cannot change"):
        regional_site.full_clean()
    with pytest.raises(ValidationError, match="No data region"):
        make_site(name="Nowhere", data_region="mars")
    call_command("createsite", "--name", "Made here", "--origin", "https://made.example", "--data-region", "us")
    made = Site.objects.get(key=capsys.readouterr().out.strip().splitlines()[-1])
    assert made.data_region == "us" and Site.objects.using(REGION).filter(pk=made.pk).exists()


@REGIONAL
def test_a_query_on_visitors_data_that_names_no_site_is_refused(regional_site):
    decide(regional_site, analytics=True)
    with pytest.raises(ResidencyError):
        ConsentRecord.objects.count()
    assert regional_site.records.count() == 1  # through the site: routed to its database
    assert ConsentRecord.objects.using(REGION).count() == 1


def test_a_malformed_region_setting_stops_the_server():
    env = {**os.environ, "DATABASE_URLS_BY_REGION": "eu:postgres://db.example/cmp", "DEBUG": "1"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "DATABASE_URLS_BY_REGION" in done.stderr and "region=url" in done.stderr
