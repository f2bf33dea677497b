"""The lifecycle: policy versions, expiry, retention (purge) and erasure, on each database."""

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from consent.models import ConsentRecord, ConsentState, ErasedRecord, ErasureMarker, Site
from consent.selectors.visitors import export_visitor, history
from consent.services.checks import check_category, current_consent
from consent.services.errors import UnknownVisitor
from consent.services.proof import seal_site, verify_site
from consent.services.records import chained_history
from consent.services.retention import purge
from consent.services.rights import erase_visitor
from consent.services.sites import publish_policy, site_snapshot
from tests.factories import decide, make_site

pytestmark = pytest.mark.django_db


def backdate(site: Site, consent_ids: list[uuid.UUID], *, days: int, per_visitor: int = 2) -> None:
    """Chained decisions made `days` ago, written in bulk as record_decision would have."""
    records, states = [], []
    decided = timezone.now() - timedelta(days=days)
    for consent_id in consent_ids:
        decisions = [
            {
                "categories": {"authentication": True, "analytics": bool(n % 2)},
                "action": "custom",
                "source": "banner",
                "policy_version": 1,
                "created_at": decided + timedelta(seconds=n),
            }
            for n in range(per_visitor)
        ]
        visitor_records, state = chained_history(site.id, site.key, consent_id, decisions)
        records += visitor_records
        states.append(state)
    ConsentRecord.objects.bulk_create(records, batch_size=2000)
    ConsentState.objects.bulk_create(states, batch_size=2000)


def test_a_material_policy_outdates_decisions_and_a_minor_one_does_not(site, django_capture_on_commit_callbacks):
    visitor = decide(site, analytics=True).consent_id
    with django_capture_on_commit_callbacks(execute=True):  # each commit clears the cached snapshot
        publish_policy(site=site, summary="Typo fixed")
    assert check_category(site_snapshot(site.key), visitor, "analytics") == (True, "granted")
    with django_capture_on_commit_callbacks(execute=True):
        publish_policy(site=site, material=True, summary="New ad partner")
    assert check_category(site_snapshot(site.key), visitor, "analytics") == (False, "outdated")
    with django_capture_on_commit_callbacks(execute=True):  # clears the cached state, as a commit does
        decide(site, consent_id=visitor, policy_version=3, analytics=True)
    assert check_category(site_snapshot(site.key), visitor, "analytics") == (True, "granted")


def test_a_decision_older_than_the_lifetime_is_expired(site):
    visitor = uuid.uuid4()
    backdate(site, [visitor], days=site.consent_lifetime_days + 1)
    assert current_consent(site_snapshot(site.key), visitor).status == "expired"
    assert check_category(site_snapshot(site.key), visitor, "analytics") == (False, "expired")


def test_purge_deletes_only_visitors_past_the_retention_period(site):
    old, recent = [uuid.uuid4() for _ in range(3)], [uuid.uuid4() for _ in range(2)]
    backdate(site, old, days=3 * 365 + 1)
    backdate(site, recent, days=3 * 365 - 1)
    report = purge()
    assert (report.visitors, report.records) == (3, 6)
    assert set(ConsentState.objects.values_list("consent_id", flat=True)) == set(recent)
    assert ConsentRecord.objects.count() == 4
    assert ErasureMarker.objects.filter(reason="retention").count() == 3
    assert verify_site(site).intact


def test_retention_is_set_per_site(site):
    short = make_site(name="Short memory")
    short.retention_days = 30
    short.save()
    backdate(site, [uuid.uuid4()], days=31)
    backdate(short, [uuid.uuid4()], days=31)
    report = purge()
    assert report.per_site[short.key].visitors == 1
    assert report.per_site[site.key].visitors == 0
    assert ConsentState.objects.filter(site=site).count() == 1


def test_a_later_decision_restarts_the_retention_period(site):
    visitor = uuid.uuid4()
    backdate(site, [visitor], days=4 * 365)
    decide(site, consent_id=visitor, analytics=True)
    assert purge().visitors == 0
    assert ConsentRecord.objects.filter(consent_id=visitor).count() == 3


def test_dry_run_says_what_it_would_delete_and_deletes_nothing(site, capsys):
    backdate(site, [uuid.uuid4() for _ in range(4)], days=4 * 365, per_visitor=3)
    report = purge(dry_run=True)
    assert (report.visitors, report.records) == (4, 12)
    assert ConsentRecord.objects.count() == 12
    call_command("purge", "--dry-run")
    out = capsys.readouterr().out
    assert "Would delete 12 records of 4 visitors." in out
    assert f"site {site.key}: 4 visitors, 12 records" in out
    assert ConsentRecord.objects.count() == 12 and not ErasureMarker.objects.exists()


def test_purge_is_idempotent(site, capsys):
    backdate(site, [uuid.uuid4() for _ in range(5)], days=4 * 365)
    call_command("purge")
    assert "Deleted 10 records of 5 visitors." in capsys.readouterr().out
    call_command("purge")
    assert "Deleted 0 records of 0 visitors." in capsys.readouterr().out
    assert ErasureMarker.objects.count() == 5


@pytest.fixture
def record_ids_restored(site):
    """PostgreSQL's sequences ignore the rollback that empties the tables after a test: put the
    record ids back afterwards, so that later tests do not start 20,000 ids further on."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM consent_consentrecord")
        (base,) = cursor.fetchone()
    yield
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('consent_consentrecord', 'id'), %s, false)", [base + 1]
            )


def test_purge_of_20k_records_in_batches_of_500_keeps_the_proof_intact(site, record_ids_restored):
    """Large-ish data: every transaction deletes at most a batch, and every gap is explained."""
    old = [uuid.uuid4() for _ in range(5000)]
    kept = [uuid.uuid4() for _ in range(500)]
    backdate(site, old, days=4 * 365, per_visitor=4)
    backdate(site, kept, days=10, per_visitor=4)
    seal_site(site, settle_seconds=0)  # sealed first: the purge must leave the seal verifiable

    assert purge(dry_run=True).records == 20_000
    report = purge(batch_size=500)
    assert (report.visitors, report.records) == (5000, 20_000)
    assert report.batches == 40  # 125 visitors of 4 records each per batch
    assert ConsentRecord.objects.count() == 2000
    assert ErasedRecord.objects.count() == 20_000
    proof = verify_site(site)
    assert proof.intact, proof.broken
    assert (proof.records, proof.markers, proof.erased_records, proof.checkpoints) == (2000, 5000, 20_000, 1)
    assert purge(batch_size=500).records == 0


def test_erasure_is_immediate_and_complete(site, django_capture_on_commit_callbacks):
    visitor = decide(site, analytics=True, marketing=True).consent_id
    decide(site, consent_id=visitor, action="withdraw")
    snapshot = site_snapshot(site.key)
    assert check_category(snapshot, visitor, "marketing") == (False, "withdrawn")
    assert len(export_visitor(snapshot, visitor)["records"]) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert erase_visitor(snapshot, visitor) == 2
    assert not ConsentRecord.objects.filter(consent_id=visitor).exists()
    assert not ConsentState.objects.filter(consent_id=visitor).exists()
    assert check_category(snapshot, visitor, "marketing") == (False, "no_decision")
    with pytest.raises(UnknownVisitor):
        history(snapshot, visitor)
    with pytest.raises(UnknownVisitor):
        erase_visitor(snapshot, visitor)
    marker = ErasureMarker.objects.get(site=site)
    assert str(visitor) not in (marker.consent_digest, marker.head_hash)
    assert verify_site(site).intact
