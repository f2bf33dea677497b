"""The consent figures the dashboard and its CSV show, and how records are counted into them.

Two views of the same decisions:
- `decisions`: every decision counts on its day ("decisions over time");
- `current`: every visitor counts once, with their latest decision, on its day; decisions
  older than the site's consent lifetime have expired and are left out, except under opt-out,
  where a decision stands until the visitor makes another (consent.services.checks).

Each decision is counted under the regime it was made in (consent.models.Regime) and the visitor's
region. A category's "allowed" is the same field under every regime, what the decision recorded:
under opt-in a yes, under opt-out a category the visitor did not opt out of.

The figures are the daily roll-ups (`DailyConsentStat`, kept by consent.services.rollup up to a
high-water mark by record id) plus the records after the mark, counted here live in the same
buckets, so they are exact up to the last decision without ever scanning all records. A visitor
erased since the last roll-up (`PendingRemoval`) is taken out live too.

Each database that holds visitors' data (consent.residency) has its own records, ids, mark and
roll-ups: one site's figures are read from its database, those of all sites are the sum of each
database's, read for the sites it holds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, timedelta
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from consent import residency
from consent.models import (
    BUILTIN_CATEGORIES,
    REQUIRED_CATEGORY,
    Action,
    Category,
    ConsentRecord,
    DailyConsentStat,
    DailyImpressions,
    PendingRemoval,
    Regime,
    RollupMark,
    Site,
    StatView,
)
from consent.replicas import heavy_read

# The high-water mark's name: the roll-ups count the records up to its id.
ROLLUP_NAME = "records"
# The records of the current figures' heads are read back by id, this many at a time.
ID_BATCH = 10_000
GRANULARITIES = ("day", "week", "month")
# What the figures can be compared by, and the bucket field that holds it.
DIMENSIONS = {
    "policy_version": "policy_version",
    "language": "language",
    "country": "country",
    "regime": "regime",
    "region": "region",
    "site": "site_id",
}
# Read once: Django's enum builds the list anew on each access.
ACTIONS = tuple(Action.values)


# Counting -------------------------------------------------------------------------------------


class Bucket(NamedTuple):
    """What the roll-ups count by: one `DailyConsentStat` row per bucket and view."""

    site_id: int
    day: date
    policy_version: int
    language: str
    country: str
    regime: str
    region: str
    action: str


@dataclass(slots=True)
class Tally:
    """How many records (or visitors) a bucket holds, and how many of them allowed each category."""

    count: int = 0
    allowed: dict[str, int] = field(default_factory=dict)

    def add(self, other: Tally, sign: int = 1) -> None:
        self.count += sign * other.count
        for category, n in other.allowed.items():
            self.allowed[category] = self.allowed.get(category, 0) + sign * n

    @property
    def empty(self) -> bool:
        return not self.count and not any(self.allowed.values())


Deltas = dict[Bucket, Tally]


def merge(into: Deltas, deltas: Deltas, sign: int = 1) -> Deltas:
    """Add (or, with sign -1, take away) the deltas bucket by bucket; returns `into`."""
    for bucket, tally in deltas.items():
        total = into.get(bucket)
        if total is None:
            total = into[bucket] = Tally()
        total.add(tally, sign)
    return into


def category_keys(site_ids: Iterable[int] | None = None, *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The refusable categories of the given sites (all if None): built-in ones first, in order.
    `using` may be a heavy read's database: a region's holds no categories."""
    rows = Category.objects.using(residency.control_database(using)).exclude(key=REQUIRED_CATEGORY)
    rows = rows if site_ids is None else rows.filter(site_id__in=list(site_ids))
    keys = set(rows.values_list("key", flat=True).distinct())
    return [k for k in BUILTIN_CATEGORIES if k in keys] + sorted(keys - set(BUILTIN_CATEGORIES))


def counted_up_to(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """The id of the last record the roll-ups count (0 before the first roll-up)."""
    return (
        RollupMark.objects.using(using).filter(name=ROLLUP_NAME).values_list("last_record_id", flat=True).first() or 0
    )


def bucket_counts(records: QuerySet, keys: list[str]) -> Deltas:
    """The records counted per bucket, with how many of them allowed each category: one query."""
    # The explicit __exact keeps a category named like a lookup ("in", "contains") a key.
    allowed = {f"a{i}": Count("id", filter=Q(**{f"categories__{key}__exact": True})) for i, key in enumerate(keys)}
    rows = (
        records.annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values(*Bucket._fields)
        .annotate(n=Count("id"), **allowed)
        .values_list(*Bucket._fields, "n", *allowed)
        .order_by()
    )
    width = len(Bucket._fields)
    return {
        Bucket._make(row[:width]): Tally(row[width], dict(zip(keys, row[width + 1 :], strict=True))) for row in rows
    }


def current_deltas(lo: int, hi: int | None, keys: list[str], *, using: str = DEFAULT_DB_ALIAS) -> Deltas:
    """How the current figures change when the records after id `lo` (up to `hi`) are counted:
    each of their visitors' latest record comes in, the visitor's head as of `lo` goes out."""
    after = Q(id__gt=lo) if hi is None else Q(id__gt=lo, id__lte=hi)
    later = ConsentRecord.objects.filter(
        after, site_id=OuterRef("site_id"), consent_id=OuterRef("consent_id"), id__gt=OuterRef("id")
    )
    latest = ConsentRecord.objects.using(using).filter(after).filter(~Exists(later))
    deltas = bucket_counts(latest, keys)
    if lo:
        for batch in _previous_heads(latest, lo):
            merge(deltas, bucket_counts(batch, keys), sign=-1)
    return deltas


def _previous_heads(latest: QuerySet, lo: int) -> Iterable[QuerySet]:
    """The records that were these visitors' latest as of id `lo`, in batches by id."""
    previous = ConsentRecord.objects.filter(
        site_id=OuterRef("site_id"), consent_id=OuterRef("consent_id"), id__lte=lo
    ).order_by("-id")
    # Fetched, then read by id in batches: as one nested query the planner scans all records.
    heads = list(
        latest.annotate(previous=Subquery(previous.values("id")[:1]))
        .filter(previous__isnull=False)
        .values_list("previous", flat=True)
        .order_by()
    )
    for i in range(0, len(heads), ID_BATCH):
        yield ConsentRecord.objects.using(latest.db).filter(id__in=heads[i : i + ID_BATCH])


def removal_deltas(removals: Iterable[PendingRemoval]) -> Deltas:
    """What the erased visitors queued for removal take out of the current figures."""
    deltas: Deltas = {}
    for r in removals:
        bucket = Bucket._make(getattr(r, name) for name in Bucket._fields)
        allowed = {c: int(on is True) for c, on in r.categories.items() if c != REQUIRED_CATEGORY}
        deltas.setdefault(bucket, Tally()).add(Tally(1, allowed), sign=-1)
    return deltas


# Figures ----------------------------------------------------------------------------------------


def period_start(day: date, granularity: str) -> date:
    """The first day of the day, week (Monday) or month the day falls in."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


@dataclass
class RateRow:
    """Decisions (or visitors) in one period and group, and how many allowed each category."""

    period: date
    group: str
    decisions: int
    allowed: dict[str, int]

    @property
    def rates(self) -> dict[str, float]:
        return {k: round(100 * n / self.decisions, 1) if self.decisions else 0.0 for k, n in self.allowed.items()}


@dataclass
class SplitRow:
    """Decisions (or visitors) in one period and group per action: accept all, reject all, custom, withdraw."""

    period: date
    group: str
    actions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))

    @property
    def total(self) -> int:
        return sum(self.actions.values())

    @property
    def shares(self) -> dict[str, float]:
        total = self.total
        return {a: round(100 * n / total, 1) if total else 0.0 for a, n in self.actions.items()}


@dataclass
class InteractionRow:
    """Banners shown and decisions made in one period."""

    period: date
    impressions: int
    decisions: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.decisions / self.impressions, 1) if self.impressions else None


@dataclass
class Figures:
    """Opt-in rates and action split per period; with a comparison, also per group over the range.
    `regimes` are those the counted decisions were made under, strictest first."""

    keys: list[str]
    rates: list[RateRow]
    split: list[SplitRow]
    compared_rates: list[RateRow] = field(default_factory=list)
    compared_split: list[SplitRow] = field(default_factory=list)
    regimes: list[str] = field(default_factory=list)


class Cell(NamedTuple):
    """Counts are summed per day, compared value ("" without a comparison), regime and action."""

    day: date
    group: int | str
    regime: str
    action: str


@dataclass(frozen=True)
class Window:
    """The sites counted, by id, with the first day counted for each (in the current view, the
    decisions older than the site's consent lifetime have expired; an opt-out never does), their
    names and the database their figures are read from."""

    start: date
    end: date
    first_day: dict[int, date]
    names: dict[int, str]
    databases: dict[int, str]

    def holds(self, bucket: Bucket) -> bool:
        first = self.first_day.get(bucket.site_id)
        if first is None:
            return False
        if bucket.regime == Regime.OPT_OUT:
            first = self.start
        return max(self.start, first) <= bucket.day <= self.end

    def by_database(self) -> Iterable[tuple[str, Window]]:
        """Each database to read, with the window over the sites whose figures it holds."""
        for database in dict.fromkeys(self.databases.values()):
            first_day = {s: day for s, day in self.first_day.items() if self.databases[s] == database}
            yield database, replace(self, first_day=first_day)


def _check(granularity: str, by: str | None, view: str) -> None:
    """Refuse an unknown granularity, comparison or view (ValueError)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"Granularity is one of {', '.join(GRANULARITIES)}.")
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"Compare by one of {', '.join(DIMENSIONS)}.")
    if view not in StatView.values:
        raise ValueError(f"The view is one of {', '.join(StatView.values)}.")


class CountedSite(NamedTuple):
    """A site counted in the figures, and the database they are read from."""

    id: int
    consent_lifetime_days: int
    name: str
    key: str
    using: str


def _counted(site: Site | None, using: str) -> list[CountedSite]:
    """One site, read from `using` (its own database, chosen by @heavy_read), or every site (one
    query), each read from its region's database, or from `using` (the default database or its
    replica) when it has none."""
    if site is not None:
        return [CountedSite(site.pk, site.consent_lifetime_days, site.name, site.key, using)]
    default = residency.control_database(using)
    rows = Site.objects.using(default).values_list("id", "consent_lifetime_days", "name", "key", "data_region")
    if not residency.regions():  # every site's data is in the default database
        return [CountedSite(*row, default) for *row, _ in rows]
    return [CountedSite(*row, residency.alias_of(region) if region else default) for *row, region in rows]


def _window(site: Site | None, start: date, end: date, view: str, using: str) -> Window:
    """The window over one site, or over every site (one query)."""
    sites = _counted(site, using)
    today = timezone.now().astimezone(UTC).date()
    first_day, names = {}, {}
    shared = Counter(counted.name for counted in sites)
    for counted in sites:
        lifetime_days = counted.consent_lifetime_days
        first_day[counted.id] = today - timedelta(days=lifetime_days - 1) if view == StatView.CURRENT else start
        # Sites are compared by name; two of one name stay apart, told by their keys.
        names[counted.id] = f"{counted.name} ({counted.key})" if shared[counted.name] > 1 else counted.name
    return Window(start, end, first_day, names, {counted.id: counted.using for counted in sites})


def _add_rolled_up(
    cells: dict[Cell, Tally], window: Window, view: str, keys: list[str], dim: str | None, using: str
) -> None:
    """Add the stored roll-up rows in the window to their cells: one query."""
    in_window = Q(site_id__in=list(window.first_day), regime=Regime.OPT_OUT)  # an opt-out never expires
    for site_id, day in window.first_day.items():
        in_window |= Q(site_id=site_id, day__gte=day)
    rows = DailyConsentStat.objects.using(using).filter(in_window, view=view, day__range=(window.start, window.end))
    aliases = [(k, f"a{i}") for i, k in enumerate(keys)]
    allowed = {a: Coalesce(Sum(Cast(KeyTextTransform(k, "allowed"), IntegerField())), 0) for k, a in aliases}
    fields = dict.fromkeys(["day", "regime", "action", *([dim] if dim else [])])
    for row in rows.values(*fields).annotate(n=Sum("count"), **allowed).order_by():
        tally = cells[Cell(row["day"], row[dim] if dim else "", row["regime"], row["action"])]
        tally.count += row["n"]
        for key, alias in aliases:
            tally.allowed[key] += row[alias]


def _live(window: Window, view: str, keys: list[str], using: str) -> Deltas:
    """The records after the mark, counted as the next roll-up will count them; in the current
    view, less the erased visitors it has yet to take out."""
    mark = counted_up_to(using=using)
    records = ConsentRecord.objects.using(using)
    if view == StatView.DECISIONS:
        return bucket_counts(records.filter(id__gt=mark, site_id__in=window.first_day), keys)
    return merge(current_deltas(mark, None, keys, using=using), removal_deltas(PendingRemoval.objects.using(using)))


def _add_live(cells: dict[Cell, Tally], live: Deltas, window: Window, dim: str | None) -> None:
    """Add the live counts of the buckets in the window to their cells."""
    for bucket, tally in live.items():
        if window.holds(bucket):
            cells[Cell(bucket.day, getattr(bucket, dim) if dim else "", bucket.regime, bucket.action)].add(tally)


def _fold(
    keys: list[str], cells: dict[Cell, Tally], place: Callable[[Cell], tuple[date, str]]
) -> tuple[list[RateRow], list[SplitRow]]:
    """Sum the cells into rows, each into the (period, group) that place(cell) names."""
    rates: dict[tuple[date, str], RateRow] = {}
    split: dict[tuple[date, str], SplitRow] = {}
    for cell, tally in cells.items():
        slot = place(cell)
        rate = rates.get(slot)
        if rate is None:
            rate = rates[slot] = RateRow(*slot, 0, dict.fromkeys(keys, 0))
            split[slot] = SplitRow(*slot)
        rate.decisions += tally.count
        for k in keys:
            rate.allowed[k] += tally.allowed[k]
        split[slot].actions[cell.action] += tally.count
    return (
        [rates[k] for k in sorted(rates) if rates[k].decisions],
        [split[k] for k in sorted(split) if split[k].total],
    )


@heavy_read
def consent_figures(
    *,
    site: Site | None = None,
    start: date,
    end: date,
    granularity: str = "day",
    by: str | None = None,
    view: str = StatView.DECISIONS,
    using: str = DEFAULT_DB_ALIAS,
) -> Figures:
    """What the dashboard shows for one site (all if None), from one pass over the roll-ups: the
    opt-in rate per category (the share of decisions, or of current visitors, that allow it) and
    the action split per period, and with `by` the same per policy version, language, country,
    regime, region or site over the whole range. A heavy read (consent.replicas); for all sites,
    the sum of every database's figures."""
    _check(granularity, by, view)
    window = _window(site, start, end, view, using)
    keys = category_keys(window.first_day, using=using)
    dim = DIMENSIONS[by] if by else None
    cells: dict[Cell, Tally] = defaultdict(lambda: Tally(0, dict.fromkeys(keys, 0)))
    for database, part in window.by_database():
        _add_rolled_up(cells, part, view, keys, dim, database)
        _add_live(cells, _live(part, view, keys, database), part, dim)
    rates, split = _fold(keys, cells, lambda cell: (period_start(cell.day, granularity), ""))
    counted = {cell.regime for cell, tally in cells.items() if tally.count}
    figures = Figures(keys, rates, split, regimes=[r for r in Regime.values if r in counted])
    if dim:
        label = window.names.__getitem__ if dim == "site_id" else str
        figures.compared_rates, figures.compared_split = _fold(keys, cells, lambda cell: (start, label(cell.group)))
    return figures


@heavy_read
def interaction_rates(
    *, site: Site | None = None, start: date, end: date, granularity: str = "day", using: str = DEFAULT_DB_ALIAS
) -> list[InteractionRow]:
    """Decisions divided by banners shown, per period, for one site (all if None). Sums counts
    only: no category work. A heavy read (consent.replicas); for all sites, the sum of every
    database's counts."""
    _check(granularity, None, StatView.DECISIONS)
    rows: dict[date, InteractionRow] = {}

    def add(day: date, decisions: int = 0, impressions: int = 0) -> None:
        period = period_start(day, granularity)
        row = rows.setdefault(period, InteractionRow(period, 0, 0))
        row.decisions += decisions
        row.impressions += impressions

    databases: dict[str, list[int]] = defaultdict(list)
    for counted in _counted(site, using):
        databases[counted.using].append(counted.id)
    for database, sites in databases.items():
        rolled = DailyConsentStat.objects.using(database).filter(
            view=StatView.DECISIONS, site_id__in=sites, day__range=(start, end)
        )
        for day, n in rolled.values("day").annotate(n=Sum("count")).values_list("day", "n").order_by():
            add(day, decisions=n)
        live = (
            ConsentRecord.objects.using(database)
            .filter(id__gt=counted_up_to(using=database), site_id__in=sites)
            .annotate(day=TruncDate("created_at", tzinfo=UTC))
        )
        for day, n in live.values("day").annotate(n=Count("id")).values_list("day", "n").order_by():
            if start <= day <= end:
                add(day, decisions=n)
        shown = DailyImpressions.objects.using(database).filter(site_id__in=sites, day__range=(start, end))
        for day, n in shown.values("day").annotate(n=Sum("count")).values_list("day", "n").order_by():
            add(day, impressions=n)
    return [rows[k] for k in sorted(rows)]
