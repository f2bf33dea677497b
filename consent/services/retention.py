"""Retention: decision records are kept for the site's retention period (Site.retention_days,
default 3 years) after the visitor's latest decision, then deleted in small batches, each
visitor leaving an erasure marker. Finished webhook deliveries are kept for a month."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from consent.models import ConsentState, Site, WebhookDelivery
from consent.residency import databases, site_database
from consent.services.rights import erase_states
from consent.services.webhooks import prune_deliveries

DELIVERY_LOG_DAYS = 30


@dataclass
class SitePurge:
    cutoff: datetime
    visitors: int = 0
    records: int = 0


@dataclass
class PurgeReport:
    visitors: int = 0
    records: int = 0
    batches: int = 0
    deliveries: int = 0
    per_site: dict[str, SitePurge] = field(default_factory=dict)


def purge(*, now: datetime | None = None, dry_run: bool = False, batch_size: int = 500) -> PurgeReport:
    """Apply every site's retention rule. Idempotent: a second run finds nothing to do.

    Each batch (visitors adding up to about `batch_size` records) is one short transaction
    that locks only those visitors' rows, so a purge can run beside live traffic. A visitor
    who decides again while the purge runs is kept.
    """
    now = now or timezone.now()
    report = PurgeReport()
    for site in Site.objects.order_by("pk"):
        cutoff = now - timedelta(days=site.retention_days)
        database = site_database(site)
        due = ConsentState.objects.using(database).filter(site=site, decided_at__lt=cutoff)
        if dry_run:
            totals = due.aggregate(visitors=Count("pk"), records=Sum("record_count"))
            done = SitePurge(cutoff, totals["visitors"], totals["records"] or 0)
        else:
            done = SitePurge(cutoff)
            while chosen := _next_batch(due, batch_size):
                with transaction.atomic(using=database):
                    states = list(due.select_for_update().filter(pk__in=chosen).order_by("pk"))
                    done.records += erase_states(site.id, states, reason="retention")
                done.visitors += len(states)
                report.batches += 1
        report.visitors += done.visitors
        report.records += done.records
        report.per_site[site.key] = done
    finished = [WebhookDelivery.DELIVERED, WebhookDelivery.FAILED]
    before = now - timedelta(days=DELIVERY_LOG_DAYS)
    report.deliveries = (
        sum(
            WebhookDelivery.objects.using(alias).filter(status__in=finished, created_at__lt=before).count()
            for alias in databases()
        )
        if dry_run
        else prune_deliveries(before=before)
    )
    return report


def _next_batch(due, batch_size: int) -> list[int]:
    """The next visitors whose records add up to at most `batch_size` (at least one visitor)."""
    chosen, records = [], 0
    for pk, count in due.order_by("pk").values_list("pk", "record_count")[:batch_size]:
        if chosen and records + count > batch_size:
            break
        chosen.append(pk)
        records += count
    return chosen
