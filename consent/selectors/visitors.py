"""A visitor's own records, for their rights of access and portability (GDPR Art. 15, 20).

Heavy reads (consent.replicas): a replica answers only when it holds the visitor's records as the
primary's state counts them, so that nobody is shown a history without its latest decision, or
with records since erased."""

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from consent.models import ConsentRecord, ConsentState, ShownConfiguration
from consent.replicas import ReplicaBehind, heavy_read
from consent.residency import control_database, site_database
from consent.services.checks import current_consent
from consent.services.errors import UnknownVisitor
from consent.services.sites import SiteSnapshot

RECORD_FIELDS = (
    "id", "consent_id", "created_at", "action", "source", "categories", "policy_version",
    "language", "url", "user_agent", "ip_address", "country", "shown", "gpc", "regime", "region", "prev_hash", "hash",
)  # fmt: skip


@heavy_read
def history(site: SiteSnapshot, consent_id, *, using: str = DEFAULT_DB_ALIAS) -> list[dict]:
    """Every recorded decision of the visitor, oldest first. Raises UnknownVisitor."""
    records = list(
        ConsentRecord.objects.using(using)
        .filter(site_id=site.id, consent_id=consent_id)
        .order_by("id")
        .values(*RECORD_FIELDS)
    )
    if using != site_database(site):  # a replica
        _require_replayed(site.id, consent_id, records)
    if not records:
        raise UnknownVisitor(f"No decisions are recorded for consent id {consent_id}.")
    return records


def _require_replayed(site_id: int, consent_id, records: list[dict]) -> None:
    """Records read from a replica must end where the visitor's state on the primary does (one
    indexed row): a decision or an erasure it has not replayed yet raises ReplicaBehind."""
    state = ConsentState.objects.using(DEFAULT_DB_ALIAS).filter(site_id=site_id, consent_id=consent_id)
    if state.values_list("record_count", "head_hash").first() != (
        (len(records), records[-1]["hash"]) if records else None
    ):
        raise ReplicaBehind


@heavy_read
def export_visitor(site: SiteSnapshot, consent_id, *, using: str = DEFAULT_DB_ALIAS) -> dict:
    """Everything we hold about the visitor, complete and machine-readable; their current consent
    as the check answers it."""
    records = history(site, consent_id, using=using)
    return {
        "format": "cmp-consent-export/1",
        "exported_at": timezone.now(),
        "site": site.key,
        "consent_id": str(consent_id),
        "current": current_consent(site, consent_id),
        "records": records,
        "shown": shown_configurations(site.id, {record["shown"] for record in records if record["shown"]}, using=using),
        "note": "IP addresses were truncated before storage (IPv4 /24, IPv6 /48). No name or email is held.",
    }


def shown_configurations(site_id: int, digests: set[str], *, using: str = DEFAULT_DB_ALIAS) -> dict[str, dict]:
    """The configurations these digests name: the exact wording each record's visitor was shown."""
    kept = (
        ShownConfiguration.objects.using(control_database(using))
        .filter(site_id=site_id, digest__in=digests)
        .values_list("digest", "content")
    )
    return dict(kept)
