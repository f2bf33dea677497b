"""Tamper-evident proof.

Each record hashes its content with the visitor's previous record (a chain per visitor, so
recording never waits on a site-wide lock). A periodic checkpoint seals a site's records: the
Merkle root of the period's record hashes, chained to the previous checkpoint and signed with a
key derived from SECRET_KEY. Deleted records (erasure, retention) leave their id and links
behind under an erasure marker, so the chains and the seals still verify.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Max
from django.utils import timezone

from consent.models import (
    ConsentRecord,
    ConsentState,
    ErasedRecord,
    ErasureMarker,
    ProofCheckpoint,
    ShownConfiguration,
    Site,
)
from consent.replicas import heavy_read
from consent.residency import control_database, site_database
from consent.services.keys import derived_key, derived_keys

GENESIS = "0" * 64
# Records younger than this are left for the next seal: their transactions may not have
# committed yet, and a later-committing record inside a sealed period would look inserted.
SETTLE_SECONDS = 60


def canonical_hash(content: list) -> str:
    """SHA-256 of compact JSON: one canonical form for everything the proof hashes."""
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


def record_hash(record: ConsentRecord, *, site_key: str) -> str:
    """SHA-256 over the record's content and its predecessor's hash, in a canonical form."""
    content = [
        record.prev_hash,
        site_key,
        str(record.consent_id),
        sorted(record.categories.items()),
        record.action,
        record.source,
        record.policy_version,
        record.language,
        record.url,
        record.user_agent,
        record.ip_address,
        record.country,
        record.created_at.astimezone(UTC).isoformat(),
    ]
    # Fields added later join the hash only when set, so that older records hash as they did.
    if record.shown:
        content.append(record.shown)
    if record.gpc:
        content.append("gpc")
    if record.regime != "opt_in":
        content.append(f"regime:{record.regime}")
    if record.region:
        content.append(f"region:{record.region}")
    return canonical_hash(content)


def shown_digest(content: dict) -> str:
    """The name a shown configuration is kept under: SHA-256 of its canonical JSON (sorted keys,
    so that a JSON column that reorders keys, as PostgreSQL's jsonb does, still verifies)."""
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def consent_digest(consent_id) -> str:
    """A keyed digest of a visitor id: names a chain in a marker without keeping the id."""
    return hmac.new(derived_key("consent-digest"), str(consent_id).encode(), hashlib.sha256).hexdigest()


def merkle_root(hashes: list[str]) -> str:
    """The Merkle root of hex hashes in order (leaves and nodes domain-separated; an odd node
    is carried up unchanged). The root of nothing is the hash of the empty string."""
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in hashes]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        pairs = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0].hex()


def checkpoint_hash(checkpoint: ProofCheckpoint, *, site_key: str) -> str:
    content = [
        checkpoint.prev_hash,
        site_key,
        checkpoint.sequence,
        checkpoint.last_record_id,
        checkpoint.record_count,
        checkpoint.merkle_root,
        checkpoint.sealed_at.astimezone(UTC).isoformat(),
    ]
    return canonical_hash(content)


def checkpoint_signature(checkpoint_hash_hex: str, key: bytes | None = None) -> str:
    return hmac.new(key or derived_key("checkpoint"), checkpoint_hash_hex.encode(), hashlib.sha256).hexdigest()


def _signed_by_us(checkpoint) -> bool:
    """Signed under SECRET_KEY or one of its fallbacks (a rotated secret keeps old checkpoints)."""
    return any(
        hmac.compare_digest(checkpoint_signature(checkpoint.hash, key), checkpoint.signature)
        for key in derived_keys("checkpoint")
    )


def _period_leaves(site_id: int, after: int, upto: int, using: str = DEFAULT_DB_ALIAS) -> dict[int, str] | str:
    """The hashes of the records in (after, upto], present or erased, by record id; a string
    says why they cannot be: a record both present and marked erased."""
    leaves = dict(
        ConsentRecord.objects.using(using).filter(site_id=site_id, id__gt=after, id__lte=upto).values_list("id", "hash")
    )
    # Read after the records: an erasure committing in between shows up here, not nowhere.
    erased = ErasedRecord.objects.using(using).filter(site_id=site_id, record_id__gt=after, record_id__lte=upto)
    for record_id, hash_hex in erased.values_list("record_id", "hash"):
        if leaves.setdefault(record_id, hash_hex) != hash_hex:
            return f"record {record_id} is both present and marked erased with another hash"
    return dict(sorted(leaves.items()))


def seal_site(
    site: Site, *, now: datetime | None = None, settle_seconds: int = SETTLE_SECONDS
) -> ProofCheckpoint | None:
    """Seal the site's records since its last checkpoint; None when there is nothing new.

    Safe to run from cron and twice at once: sealers of one site take turns on the site's row,
    while recording decisions never touches that lock.
    """
    now = now or timezone.now()
    database = site_database(site)
    with transaction.atomic(using=database):
        # FOR NO KEY UPDATE: decisions inserting records (FOR KEY SHARE on the site) never wait on
        # it. The lock is taken where the records go: a region's database holds its sites' rows too.
        Site.objects.using(database).select_for_update(no_key=True).filter(pk=site.pk).first()
        prev = ProofCheckpoint.objects.using(database).filter(site=site).order_by("-sequence").first()
        after = prev.last_record_id if prev else 0
        settled = ConsentRecord.objects.using(database).filter(
            site=site, id__gt=after, created_at__lt=now - timedelta(seconds=settle_seconds)
        )
        upto = settled.aggregate(last=Max("id"))["last"]
        if upto is None:
            return None
        leaves = _period_leaves(site.id, after, upto, using=database)
        if isinstance(leaves, str):
            raise ProofBroken(f"Cannot seal: {leaves}.")
        if prev and (late := _backdated(site.id, prev, upto, using=database)):
            raise ProofBroken(f"Cannot seal: {late}.")
        checkpoint = ProofCheckpoint(
            site=site,
            sequence=prev.sequence + 1 if prev else 1,
            last_record_id=upto,
            record_count=len(leaves),
            merkle_root=merkle_root(list(leaves.values())),
            prev_hash=prev.hash if prev else GENESIS,
            sealed_at=now,
        )
        checkpoint.hash = checkpoint_hash(checkpoint, site_key=site.key)
        checkpoint.signature = checkpoint_signature(checkpoint.hash)
        checkpoint.save(using=database)
    return checkpoint


class ProofBroken(Exception):
    """The records to seal show tampering: sealing them would vouch for it."""


def _backdated(
    site_id: int, checkpoint: ProofCheckpoint, upto: int | None = None, using: str = DEFAULT_DB_ALIAS
) -> str | None:
    """Records after a checkpoint's period but dated before it sealed: a record settled by then
    was sealed, so these were inserted afterwards with a false date."""
    late = ConsentRecord.objects.using(using).filter(
        site_id=site_id,
        id__gt=checkpoint.last_record_id,
        created_at__lt=checkpoint.sealed_at - timedelta(seconds=SETTLE_SECONDS),
    )
    if upto is not None:
        late = late.filter(id__lte=upto)
    first = late.order_by("id").values_list("id", flat=True).first()
    if first is None:
        return None
    return (
        f"record {first} is dated before checkpoint {checkpoint.sequence} was sealed but is not in it "
        "(it was inserted afterwards)"
    )


@dataclass
class ProofReport:
    records: int = 0
    visitors: int = 0
    markers: int = 0
    erased_records: int = 0
    checkpoints: int = 0
    unsealed: int = 0
    shown: int = 0
    broken: str | None = None
    # digest -> the first record that names it, filled by the chain check for the shown check
    shown_by: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def intact(self) -> bool:
        return self.broken is None


@heavy_read
def verify_site(site: Site, *, batch_size: int = 5000, using: str = DEFAULT_DB_ALIAS) -> ProofReport:
    """Check everything: each visitor's chain, each erasure marker's left-behind links, and
    each checkpoint's seal. Stops at the first broken link and says where it is. A heavy read
    (consent.replicas)."""
    report = ProofReport()
    for check in (_verify_chains, _verify_shown, _verify_markers, _verify_checkpoints):
        report.broken = check(site, report, batch_size, using)
        if report.broken:
            break
    return report


def _verify_chains(site: Site, report: ProofReport, batch_size: int, using: str) -> str | None:
    states = (
        ConsentState.objects.using(using)
        .filter(site=site)
        .values_list("consent_id", "head_hash", "record_count", "categories", "action", "policy_version", "decided_at")
    )
    heads = {row[0]: row[1:] for row in states.iterator(chunk_size=batch_size)}
    current, prev, count = None, None, 0
    records = ConsentRecord.objects.using(using).filter(site=site).order_by("consent_id", "id")
    for record in records.iterator(chunk_size=batch_size):
        if record.consent_id != current:
            if current is not None and (broken := _head_mismatch(report, prev, count, heads)):
                return broken
            current, prev, count = record.consent_id, None, 0
            if current not in heads:
                return f"record {record.pk}: visitor {current} has records but no current state"
        report.records += 1
        if record.prev_hash != (prev.hash if prev else GENESIS):
            return f"record {record.pk}: link to the previous record broken (a record was inserted or deleted)"
        if record_hash(record, site_key=site.key) != record.hash:
            return f"record {record.pk}: content does not match its hash (the record was edited)"
        if record.shown:
            report.shown_by.setdefault(record.shown, record.pk)
        prev, count = record, count + 1
    if current is not None and (broken := _head_mismatch(report, prev, count, heads)):
        return broken
    if heads:
        return f"visitor {next(iter(heads))}: current state but no records (its records were deleted)"
    return None


def _head_mismatch(report: ProofReport, last: ConsentRecord, count: int, heads: dict) -> str | None:
    """A chain must end at the head its state recorded, and the state (what the check API
    answers from) must say what that record says; checked chains leave `heads`."""
    report.visitors += 1
    head_hash, record_count, *current = heads.pop(last.consent_id)
    if head_hash != last.hash or record_count != count:
        return f"visitor {last.consent_id}: latest record missing (the chain ends before its recorded head)"
    if current != [last.categories, last.action, last.policy_version, last.created_at]:
        return f"visitor {last.consent_id}: the current state differs from the latest record (the state was edited)"
    return None


def _verify_shown(site: Site, report: ProofReport, batch_size: int, using: str) -> str | None:
    """Every configuration a record names must be kept, and still hash to its name: the wording a
    visitor agreed to was neither lost nor rewritten."""
    kept = ShownConfiguration.objects.using(control_database(using)).filter(site=site).values_list("digest", "content")
    for digest, content in kept.iterator(chunk_size=batch_size):
        if shown_digest(content) != digest:
            return f"shown configuration {digest[:12]}: its content does not match its digest (the texts were edited)"
        if report.shown_by.pop(digest, None) is not None:
            report.shown += 1
    for digest, record_id in report.shown_by.items():
        return f"record {record_id}: the configuration it was shown ({digest[:12]}) is missing"
    return None


def _verify_markers(site: Site, report: ProofReport, batch_size: int, using: str) -> str | None:
    """Each marker's erased records must form a whole chain, from the first link to the head
    the marker names, and as many as it says."""
    markers = {m.pk: m for m in ErasureMarker.objects.using(using).filter(site=site)}
    report.markers = len(markers)
    seen: dict[int, tuple[int, str]] = {}  # marker -> (records seen, last hash)
    erased = ErasedRecord.objects.using(using).filter(site=site).order_by("marker_id", "record_id")
    for row in erased.iterator(chunk_size=batch_size):
        count, prev = seen.get(row.marker_id, (0, GENESIS))
        if row.prev_hash != prev:
            return f"erasure marker {row.marker_id}: erased record {row.record_id} does not link to the one before it"
        seen[row.marker_id] = (count + 1, row.hash)
        report.erased_records += 1
    for pk, marker in markers.items():
        count, head = seen.get(pk, (0, GENESIS))
        if count != marker.record_count or head != marker.head_hash:
            return (
                f"erasure marker {pk}: it names {marker.record_count} records ending at {marker.head_hash[:12]}, "
                f"but {count} erased records ending at {head[:12]} are left"
            )
    return None


def _verify_checkpoints(site: Site, report: ProofReport, batch_size: int, using: str) -> str | None:
    prev_hash, after, prev = GENESIS, 0, None
    checkpoints = ProofCheckpoint.objects.using(using).filter(site=site).order_by("sequence")
    for expected, checkpoint in enumerate(checkpoints, 1):
        label = f"checkpoint {checkpoint.sequence} (records {after + 1}-{checkpoint.last_record_id})"
        if checkpoint.sequence != expected:
            return f"checkpoint {expected} is missing (the next one is {checkpoint.sequence})"
        if checkpoint.prev_hash != prev_hash:
            return f"{label}: does not link to the previous checkpoint"
        if checkpoint_hash(checkpoint, site_key=site.key) != checkpoint.hash:
            return f"{label}: its content does not match its hash (the checkpoint was edited)"
        if not _signed_by_us(checkpoint):
            return f"{label}: the signature is not ours (the checkpoint was forged)"
        leaves = _period_leaves(site.id, after, checkpoint.last_record_id, using)
        if isinstance(leaves, str):
            return f"{label}: {leaves}"
        if len(leaves) != checkpoint.record_count:
            return (
                f"{label}: sealed {checkpoint.record_count} records, {len(leaves)} are there "
                "(a record was inserted or deleted without a marker)"
            )
        if merkle_root(list(leaves.values())) != checkpoint.merkle_root:
            return f"{label}: the records do not match the sealed Merkle root (a record was edited or replaced)"
        if prev and (late := _backdated(site.id, prev, checkpoint.last_record_id, using)):
            return f"{label}: {late}"
        report.checkpoints += 1
        prev_hash, after, prev = checkpoint.hash, checkpoint.last_record_id, checkpoint
    if prev and (late := _backdated(site.id, prev, using=using)):
        return late
    report.unsealed = ConsentRecord.objects.using(using).filter(site=site, id__gt=after).count()
    return None
