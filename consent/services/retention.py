"""Retention: decision records are kept for the site's retention period after the visitor's
latest decision, then deleted in small batches, each leaving an erasure marker."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from consent.models import ConsentState, Site
from consent.services.rights import erase_visitor
from consent.services.sites import site_snapshot


@dataclass
class PurgeReport:
    visitors: int = 0
    records: int = 0
    per_site: dict[str, int] = field(default_factory=dict)


def purge(*, now: datetime | None = None, dry_run: bool = False, batch_size: int = 500) -> PurgeReport:
    """Apply every site's retention rule. Idempotent: a second run finds nothing to do.

    Each visitor is erased in its own short transaction, so the tables are never locked
    for long and a purge can run beside live traffic.
    """
    now = now or timezone.now()
    report = PurgeReport()
    for site in Site.objects.all():
        cutoff = now - timedelta(days=site.retention_days)
        due = ConsentState.objects.filter(site=site, decided_at__lt=cutoff)
        if dry_run:
            visitors = due.count()
            report.visitors += visitors
            report.records += sum(due.values_list("record_count", flat=True))
            report.per_site[site.key] = visitors
            continue
        snapshot = site_snapshot(site.key)
        done = 0
        while batch := list(due.values_list("consent_id", flat=True)[:batch_size]):
            for consent_id in batch:
                report.records += erase_visitor(snapshot, consent_id, reason="retention")
            done += len(batch)
        report.visitors += done
        report.per_site[site.key] = done
    return report
