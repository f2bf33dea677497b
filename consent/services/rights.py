"""The visitor's rights: access and portability (history, export) and erasure."""

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from consent.models import ConsentRecord, ConsentState, ErasureMarker
from consent.services.checks import current_consent
from consent.services.errors import UnknownVisitor
from consent.services.proof import consent_digest
from consent.services.records import state_cache_key
from consent.services.sites import SiteSnapshot

RECORD_FIELDS = (
    "id", "consent_id", "created_at", "action", "source", "categories", "policy_version",
    "language", "url", "user_agent", "ip_address", "country", "prev_hash", "hash",
)  # fmt: skip


def history(site: SiteSnapshot, consent_id) -> list[dict]:
    """Every recorded decision of the visitor, oldest first. Raises UnknownVisitor."""
    records = list(
        ConsentRecord.objects.filter(site_id=site.id, consent_id=consent_id).order_by("id").values(*RECORD_FIELDS)
    )
    if not records:
        raise UnknownVisitor(f"No decisions are recorded for consent id {consent_id}.")
    return records


def export_visitor(site: SiteSnapshot, consent_id) -> dict:
    """Everything we hold about the visitor, complete and machine-readable (GDPR Art. 15, 20)."""
    records = history(site, consent_id)
    current = current_consent(site, consent_id)
    return {
        "format": "cmp-consent-export/1",
        "exported_at": timezone.now(),
        "site": site.key,
        "consent_id": str(consent_id),
        "current": current,
        "records": records,
        "note": "IP addresses were truncated before storage (IPv4 /24, IPv6 /48). No name or email is held.",
    }


def erase_visitor(site: SiteSnapshot, consent_id, *, reason: str = "erasure") -> int:
    """Delete the visitor's records and state (GDPR Art. 17), leaving a marker that keeps
    the chain verifiable. Returns how many records were deleted; raises UnknownVisitor."""
    with transaction.atomic():
        state = ConsentState.objects.select_for_update().filter(site_id=site.id, consent_id=consent_id).first()
        if state is None:
            raise UnknownVisitor(f"No decisions are recorded for consent id {consent_id}.")
        deleted, _ = ConsentRecord.objects.filter(site_id=site.id, consent_id=consent_id).delete()
        ErasureMarker.objects.create(
            site_id=site.id,
            consent_digest=consent_digest(consent_id),
            reason=reason,
            record_count=deleted,
            head_hash=state.head_hash,
        )
        state.delete()
    transaction.on_commit(lambda: cache.delete(state_cache_key(site.id, consent_id)))
    return deleted
