"""Tamper-evident proof: chains, erasure markers and checkpoints, and what each detects."""

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from consent.models import ConsentRecord, ConsentState, ErasedRecord, ProofCheckpoint
from consent.services.proof import ProofBroken, checkpoint_hash, merkle_root, record_hash, seal_site, verify_site
from consent.services.rights import erase_visitor
from consent.services.sites import site_snapshot
from tests.factories import decide

pytestmark = pytest.mark.django_db


def raw(sql: str, *params) -> None:
    """Tamper as someone with database access would: below the append-only model."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def populate(site, visitors: int = 4, decisions: int = 3) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(visitors)]
    for round_ in range(decisions):
        for consent_id in ids:
            decide(site, consent_id=consent_id, analytics=bool(round_ % 2), marketing=round_ == 2)
    return ids


def assert_broken(site, *fragments: str) -> str:
    report = verify_site(site)
    assert not report.intact
    for fragment in fragments:
        assert fragment in report.broken, report.broken
    return report.broken


def follow_head(state: ConsentState, record: ConsentRecord) -> None:
    """Make the visitor's state name a forged record as its head, as a careful forger would."""
    ConsentState.objects.filter(pk=state.pk).update(
        head_hash=record.hash,
        record_count=state.record_count + 1,
        categories=record.categories,
        action=record.action,
        policy_version=record.policy_version,
        decided_at=record.created_at,
    )


def rewrite_consistently(site, record: ConsentRecord, **changes) -> None:
    """Edit a visitor's latest record and recompute its hash and the state's head, so that the
    visitor's chain alone looks intact: only a checkpoint can tell."""
    for name, value in changes.items():
        setattr(record, name, value)
    new_hash = record_hash(record, site_key=site.key)
    raw("UPDATE consent_consentrecord SET url = %s, hash = %s WHERE id = %s", record.url, new_hash, record.pk)
    raw(
        "UPDATE consent_consentstate SET head_hash = %s WHERE site_id = %s AND consent_id = %s",
        new_hash,
        site.pk,
        record.consent_id.hex if connection.vendor == "sqlite" else record.consent_id,
    )


def test_merkle_root_depends_on_every_leaf_and_their_order():
    leaves = [f"{i:064x}" for i in range(5)]
    root = merkle_root(leaves)
    assert len(root) == 64
    assert merkle_root(leaves[:4]) != root
    assert merkle_root(leaves[:4] + [f"{9:064x}"]) != root
    assert merkle_root([leaves[1], leaves[0], *leaves[2:]]) != root
    assert merkle_root(list(leaves)) == root


def test_an_intact_site_passes_with_chains_markers_and_checkpoints(site):
    ids = populate(site)
    first = seal_site(site, settle_seconds=0)
    erase_visitor(site_snapshot(site.key), ids[0])
    decide(site, consent_id=ids[1], action="withdraw")
    second = seal_site(site, settle_seconds=0)
    decide(site, consent_id=ids[2], action="accept_all")

    report = verify_site(site)
    assert report.intact, report.broken
    assert (first.sequence, second.sequence) == (1, 2)
    assert second.prev_hash == first.hash
    assert first.record_count == 12 and second.record_count == 1
    assert (report.records, report.visitors, report.markers, report.erased_records) == (11, 3, 1, 3)
    assert (report.checkpoints, report.unsealed) == (2, 1)


def test_sealing_twice_with_nothing_new_adds_nothing(site):
    populate(site, visitors=2, decisions=1)
    assert seal_site(site, settle_seconds=0) is not None
    assert seal_site(site, settle_seconds=0) is None
    assert ProofCheckpoint.objects.filter(site=site).count() == 1


def test_records_too_young_to_have_committed_everywhere_wait_for_the_next_seal(site):
    populate(site, visitors=2, decisions=1)
    assert seal_site(site) is None  # decided just now: not settled yet
    checkpoint = seal_site(site, now=timezone.now() + timedelta(minutes=2))
    assert checkpoint.record_count == 2


def test_an_edited_record_is_detected(site):
    populate(site)
    record = ConsentRecord.objects.filter(site=site).order_by("id")[4]
    raw("UPDATE consent_consentrecord SET url = %s WHERE id = %s", "https://forged.example/", record.pk)
    assert_broken(site, f"record {record.pk}", "edited")


def test_an_edit_with_recomputed_hashes_is_caught_by_the_checkpoint(site):
    ids = populate(site)
    seal_site(site, settle_seconds=0)
    latest = ConsentRecord.objects.filter(site=site, consent_id=ids[1]).order_by("-id").first()
    rewrite_consistently(site, latest, url="https://forged.example/")
    assert_broken(site, "checkpoint 1", "Merkle root")


def test_a_deleted_record_is_detected(site):
    ids = populate(site)
    middle = ConsentRecord.objects.filter(site=site, consent_id=ids[2]).order_by("id")[1]
    ConsentRecord.objects.filter(pk=middle.pk).delete()
    assert_broken(site, "link to the previous record broken")


def test_a_deleted_latest_record_is_detected(site):
    ids = populate(site)
    latest = ConsentRecord.objects.filter(site=site, consent_id=ids[0]).order_by("-id").first()
    ConsentRecord.objects.filter(pk=latest.pk).delete()
    assert_broken(site, f"visitor {ids[0]}", "latest record missing")


def test_a_whole_visitor_deleted_without_a_marker_is_caught_by_the_checkpoint(site):
    ids = populate(site)
    seal_site(site, settle_seconds=0)
    ConsentRecord.objects.filter(site=site, consent_id=ids[3]).delete()
    ConsentState.objects.filter(site=site, consent_id=ids[3]).delete()
    assert_broken(site, "checkpoint 1", "sealed 12 records, 9 are there")


def test_an_inserted_record_is_detected(site):
    ids = populate(site)
    head = ConsentState.objects.get(site=site, consent_id=ids[0])
    forged = ConsentRecord(
        site=site, consent_id=ids[0], categories={"marketing": True}, action="accept_all", source="banner",
        policy_version=1, prev_hash=head.head_hash, created_at=timezone.now(),
    )  # fmt: skip
    forged.hash = record_hash(forged, site_key=site.key)
    forged.save()
    assert_broken(site, f"visitor {ids[0]}", "latest record missing")


def test_a_backdated_insertion_after_a_seal_is_detected_and_not_sealed(site):
    ids = populate(site)
    checkpoint = seal_site(site, settle_seconds=0)
    head = ConsentState.objects.get(site=site, consent_id=ids[0])
    forged = ConsentRecord(
        site=site, consent_id=ids[0], categories={"marketing": True}, action="accept_all", source="banner",
        policy_version=1, prev_hash=head.head_hash, created_at=checkpoint.sealed_at - timedelta(days=3),
    )  # fmt: skip
    forged.hash = record_hash(forged, site_key=site.key)
    forged.save()
    follow_head(head, forged)  # the chain now looks whole
    assert_broken(site, f"record {forged.pk} is dated before checkpoint 1")
    with pytest.raises(ProofBroken, match="inserted afterwards"):
        seal_site(site, settle_seconds=0)


def test_erasure_after_a_seal_leaves_a_marker_that_explains_the_gap(site):
    ids = populate(site)
    seal_site(site, settle_seconds=0)
    assert erase_visitor(site_snapshot(site.key), ids[1]) == 3
    assert ErasedRecord.objects.filter(site=site).count() == 3
    assert not ConsentRecord.objects.filter(site=site, consent_id=ids[1]).exists()
    assert verify_site(site).intact


def test_a_tampered_marker_is_detected(site):
    ids = populate(site)
    seal_site(site, settle_seconds=0)
    erase_visitor(site_snapshot(site.key), ids[1])
    ErasedRecord.objects.filter(site=site).order_by("record_id").last().delete()
    assert_broken(site, "erasure marker", "names 3 records", "but 2 erased records")


def test_an_erased_record_put_back_is_detected(site):
    ids = populate(site, visitors=2, decisions=1)
    seal_site(site, settle_seconds=0)
    record = ConsentRecord.objects.get(site=site, consent_id=ids[0])
    erase_visitor(site_snapshot(site.key), ids[0])
    ConsentRecord.objects.bulk_create([record])
    assert_broken(site, f"record {record.pk}", "no current state")


def test_a_forged_checkpoint_is_detected(site):
    populate(site)
    checkpoint = seal_site(site, settle_seconds=0)
    checkpoint.merkle_root = "f" * 64
    checkpoint.hash = checkpoint_hash(checkpoint, site_key=site.key)
    raw(
        "UPDATE consent_proofcheckpoint SET merkle_root = %s, hash = %s WHERE id = %s",
        checkpoint.merkle_root,
        checkpoint.hash,
        checkpoint.pk,
    )
    assert_broken(site, "checkpoint 1", "signature is not ours")


def test_a_deleted_checkpoint_is_detected(site):
    ids = populate(site)
    seal_site(site, settle_seconds=0)
    decide(site, consent_id=ids[0], analytics=True)
    seal_site(site, settle_seconds=0)
    ProofCheckpoint.objects.filter(site=site, sequence=1).delete()
    assert_broken(site, "checkpoint 1 is missing")


def test_verifyproof_exits_0_when_intact_and_1_at_the_first_broken_link(site, capsys):
    populate(site)
    call_command("sealproof", site=site.key)  # nothing settled yet: nothing sealed, still fine
    call_command("verifyproof", site=site.key)
    assert "Intact: 12 records of 4 visitors" in capsys.readouterr().out

    record = ConsentRecord.objects.filter(site=site).order_by("id").first()
    raw("UPDATE consent_consentrecord SET language = %s WHERE id = %s", "xx", record.pk)
    with pytest.raises(SystemExit) as exit_info:
        call_command("verifyproof", site=site.key)
    assert exit_info.value.code == 1
    assert f"BROKEN: record {record.pk}" in capsys.readouterr().err

    with pytest.raises(CommandError, match="No site"):
        call_command("verifyproof", site="nope")


def test_sealproof_refuses_to_seal_tampered_records_and_exits_1(site, capsys):
    ids = populate(site)
    call_command("sealproof")
    assert "nothing new to seal" in capsys.readouterr().out
    checkpoint = seal_site(site, settle_seconds=0)
    head = ConsentState.objects.get(site=site, consent_id=ids[0])
    forged = ConsentRecord(
        site=site, consent_id=ids[0], categories={}, action="reject_all", source="banner", policy_version=1,
        prev_hash=head.head_hash, created_at=checkpoint.sealed_at - timedelta(hours=5),
    )  # fmt: skip
    forged.hash = record_hash(forged, site_key=site.key)
    forged.save()
    with pytest.raises(SystemExit) as exit_info:
        call_command("sealproof", site=site.key)
    assert exit_info.value.code == 1
    assert "inserted afterwards" in capsys.readouterr().err


def test_an_edited_current_state_is_detected(site):
    ids = populate(site)
    state = ConsentState.objects.get(site=site, consent_id=ids[2])
    ConsentState.objects.filter(pk=state.pk).update(categories={**state.categories, "analytics": True})
    assert_broken(site, f"visitor {ids[2]}", "the state was edited")


def test_a_deleted_site_takes_its_proof_with_it(site):
    visitor = decide(site, analytics=True).consent_id
    seal_site(site, settle_seconds=0)
    erase_visitor(site_snapshot(site.key), visitor)
    site.delete()
    assert not ErasedRecord.objects.exists() and not ProofCheckpoint.objects.exists()
