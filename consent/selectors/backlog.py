"""What waits on the background jobs, for the operators' metrics: the webhook outbox
(`deliverwebhooks`), the records after the roll-up's mark (`rollup`) and after each site's last
checkpoint (`sealproof`). A few indexed queries per database holding visitors' data (each site's
data lives in one of them, consent.residency); none grows with the number of records already
done, only with what waits."""

from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Exists, F, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from consent.models import ConsentRecord, ProofCheckpoint, Site, WebhookDelivery
from consent.residency import databases, regions
from consent.selectors.figures import counted_up_to


@dataclass(frozen=True)
class Backlog:
    """How many wait, and since when the oldest of them (None when none waits)."""

    count: int = 0
    oldest: datetime | None = None

    def __add__(self, other: "Backlog") -> "Backlog":
        """Both backlogs as one: the counts added, the older of the oldest."""
        oldest = min((o for o in (self.oldest, other.oldest) if o is not None), default=None)
        return Backlog(self.count + other.count, oldest)


def webhook_backlog() -> Backlog:
    """Deliveries not yet delivered nor given up, retries and those of paused endpoints included,
    in every database's outbox."""
    total = Backlog()
    for using in databases():
        pending = WebhookDelivery.objects.using(using).filter(status=WebhookDelivery.PENDING)
        total += Backlog(**pending.aggregate(count=Count("id"), oldest=Min("created_at")))
    return total


def rollup_backlog() -> Backlog:
    """Records the daily roll-ups do not count yet (the figures count them live), in every
    database, each after its own roll-up's mark."""
    total = Backlog()
    for using in databases():
        after = ConsentRecord.objects.using(using).filter(id__gt=counted_up_to(using=using))
        total += Backlog(**after.aggregate(count=Count("id"), oldest=Min("created_at")))
    return total


def seal_backlog() -> dict[str, Backlog]:
    """Each site's records after its last checkpoint, by site key (every site, waiting or not),
    read in the site's own database."""
    backlog = {}
    for using in databases():
        backlog.update(_seal_backlog(_sites_kept_in(using), using))
    return backlog


def _sites_kept_in(using: str) -> QuerySet[Site]:
    """The sites whose visitors' data `using` holds (a region's database holds a copy of its sites)."""
    if using == DEFAULT_DB_ALIAS:
        return Site.objects.using(using).exclude(data_region__in=list(regions()))
    region = next(name for name, alias in regions().items() if alias == using)
    return Site.objects.using(using).filter(data_region=region)


def _seal_backlog(sites: QuerySet[Site], using: str) -> dict[str, Backlog]:
    def last_sealed(site):
        seals = ProofCheckpoint.objects.filter(site=site).order_by("-sequence").values("last_record_id")
        return Coalesce(Subquery(seals[:1]), 0)

    sites = sites.annotate(sealed=last_sealed(OuterRef("pk"))).annotate(
        waiting=Exists(ConsentRecord.objects.filter(site=OuterRef("pk"), id__gt=OuterRef("sealed")))
    )
    backlog, keys, floor = {}, {}, None
    for site_id, key, sealed, waiting in sites.values_list("id", "key", "sealed", "waiting"):
        backlog[key], keys[site_id] = Backlog(), key
        if waiting:
            floor = sealed if floor is None else min(floor, sealed)
    if floor is None:
        return backlog
    # Only the records after the least advanced seal of a site that waits are read, each against
    # its own site's seal.
    unsealed = (
        ConsentRecord.objects.using(using)
        .filter(id__gt=floor)
        .alias(sealed=last_sealed(OuterRef("site")))
        .filter(id__gt=F("sealed"))
        .values("site_id")
        .annotate(count=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    for row in unsealed:
        backlog[keys[row["site_id"]]] = Backlog(row["count"], row["oldest"])
    return backlog
