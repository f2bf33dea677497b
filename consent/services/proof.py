"""The tamper-evident chain: each record hashes its content with the visitor's previous record."""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings

from consent.models import ConsentRecord, ConsentState, ErasureMarker, Site

GENESIS = "0" * 64


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
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


def consent_digest(consent_id) -> str:
    """A keyed digest of a visitor id: names a chain in a marker without keeping the id."""
    return hmac.new(settings.SECRET_KEY.encode(), str(consent_id).encode(), hashlib.sha256).hexdigest()


@dataclass
class ProofReport:
    records: int = 0
    visitors: int = 0
    markers: int = 0
    broken: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify_site(site: Site, *, batch_size: int = 5000) -> ProofReport:
    """Walk every visitor's chain; stop at the first broken link and say where it is."""
    report = ProofReport(markers=ErasureMarker.objects.filter(site=site).count())
    heads = dict(ConsentState.objects.filter(site=site).values_list("consent_id", "head_hash"))
    current, prev = None, GENESIS
    records = ConsentRecord.objects.filter(site=site).order_by("consent_id", "id")
    for record in records.iterator(chunk_size=batch_size):
        if record.consent_id != current:
            if current is not None and not _head_matches(report, current, prev, heads):
                return report
            current, prev = record.consent_id, GENESIS
            if current not in heads:
                report.broken = f"record {record.pk}: visitor {current} has records but no current state"
                return report
        report.records += 1
        if record.prev_hash != prev:
            report.broken = f"record {record.pk}: link to the previous record broken (a record was inserted or deleted)"
            return report
        if record_hash(record, site_key=site.key) != record.hash:
            report.broken = f"record {record.pk}: content does not match its hash (the record was edited)"
            return report
        prev = record.hash
    if current is not None and not _head_matches(report, current, prev, heads):
        return report
    if heads:
        report.broken = f"visitor {next(iter(heads))}: current state but no records (its records were deleted)"
    return report


def _head_matches(report: ProofReport, consent_id, last_hash: str, heads: dict) -> bool:
    """A chain must end at the head its state recorded; checked chains leave `heads`."""
    report.visitors += 1
    if heads.pop(consent_id) != last_hash:
        report.broken = f"visitor {consent_id}: latest record missing (the chain ends before its recorded head)"
        return False
    return True
