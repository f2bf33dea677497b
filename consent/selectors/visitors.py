"""A visitor's own records, for their rights of access and portability (GDPR Art. 15, 20)."""

from django.utils import timezone

from consent.models import ConsentRecord, ShownConfiguration
from consent.services.checks import current_consent
from consent.services.errors import UnknownVisitor
from consent.services.sites import SiteSnapshot

RECORD_FIELDS = (
    "id", "consent_id", "created_at", "action", "source", "categories", "policy_version",
    "language", "url", "user_agent", "ip_address", "country", "shown", "gpc", "regime", "region", "prev_hash", "hash",
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
    """Everything we hold about the visitor, complete and machine-readable."""
    records = history(site, consent_id)
    return {
        "format": "cmp-consent-export/1",
        "exported_at": timezone.now(),
        "site": site.key,
        "consent_id": str(consent_id),
        "current": current_consent(site, consent_id),
        "records": records,
        "shown": shown_configurations(site.id, {record["shown"] for record in records if record["shown"]}),
        "note": "IP addresses were truncated before storage (IPv4 /24, IPv6 /48). No name or email is held.",
    }


def shown_configurations(site_id: int, digests: set[str]) -> dict[str, dict]:
    """The configurations these digests name: the exact wording each record's visitor was shown."""
    kept = ShownConfiguration.objects.filter(site_id=site_id, digest__in=digests).values_list("digest", "content")
    return dict(kept)
