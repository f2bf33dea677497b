"""What waits on the background jobs, for the operators' metrics: the webhook outbox
(`deliverwebhooks`), the records after the roll-up's mark (`rollup`) and after each site's last
checkpoint (`sealproof`). A few indexed queries; none grows with the number of records already
done, only with what waits."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, F, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce

from consent.models import ConsentRecord, ProofCheckpoint, Site, WebhookDelivery
from consent.selectors.figures import counted_up_to


@dataclass(frozen=True)
class Backlog:
    """How many wait, and since when the oldest of them (None when none waits)."""

    count: int = 0
    oldest: datetime | None = None


def webhook_backlog() -> Backlog:
    """Deliveries not yet delivered nor given up, retries and those of paused endpoints included."""
    pending = WebhookDelivery.objects.filter(status=WebhookDelivery.PENDING)
    return Backlog(**pending.aggregate(count=Count("id"), oldest=Min("created_at")))


def rollup_backlog() -> Backlog:
    """Records the daily roll-ups do not count yet (the figures count them live)."""
    after = ConsentRecord.objects.filter(id__gt=counted_up_to())
    return Backlog(**after.aggregate(count=Count("id"), oldest=Min("created_at")))


def seal_backlog() -> dict[str, Backlog]:
    """Each site's records after its last checkpoint, by site key (every site, waiting or not)."""

    def last_sealed(site):
        seals = ProofCheckpoint.objects.filter(site=site).order_by("-sequence").values("last_record_id")
        return Coalesce(Subquery(seals[:1]), 0)

    sites = Site.objects.annotate(sealed=last_sealed(OuterRef("pk"))).annotate(
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
        ConsentRecord.objects.filter(id__gt=floor)
        .alias(sealed=last_sealed(OuterRef("site")))
        .filter(id__gt=F("sealed"))
        .values("site_id")
        .annotate(count=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    for row in unsealed:
        backlog[keys[row["site_id"]]] = Backlog(row["count"], row["oldest"])
    return backlog
