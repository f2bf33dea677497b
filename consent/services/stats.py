"""Consent analytics: daily roll-ups kept incrementally, and the figures the dashboard shows.

Two views of the same decisions:
- `decisions`: every decision counts on its day ("decisions over time");
- `current`: every visitor counts once, with their latest decision, on its day; decisions
  older than the site's consent lifetime have expired and are left out.

`rollup()` (the `rollup` command, run from cron) reads the records after a stored high-water
mark by record id, adds them to `DailyConsentStat` and moves the mark. Readers add the records
after the mark live, so figures are exact up to the last decision without ever scanning all
records. Erasure takes a counted visitor out of the current figures (`PendingRemoval`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from consent.models import (
    BUILTIN_CATEGORIES,
    REQUIRED_CATEGORY,
    Action,
    Category,
    ConsentRecord,
    DailyConsentStat,
    DailyImpressions,
    PendingRemoval,
    RollupMark,
    Site,
    StatView,
)
from consent.services.sites import SiteSnapshot

ROLLUP_NAME = "records"
# Records younger than this are left for the next run: a transaction that took an id earlier
# may still be committing, and the mark must never pass a record that is not yet visible.
SETTLE = timedelta(minutes=2)
CHUNK_SIZE = 100_000
ID_BATCH = 10_000
GRANULARITIES = ("day", "week", "month")
DIMENSIONS = {"policy_version": "policy_version", "language": "language", "country": "country", "site": "site_id"}
BUCKET = ("site_id", "day", "policy_version", "language", "country", "action")

UPSERT = f"""
    INSERT INTO {DailyConsentStat._meta.db_table} ({", ".join(("view", *BUCKET, "count", "allowed"))})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (view, {", ".join(BUCKET)}) DO UPDATE SET count = excluded.count, allowed = excluded.allowed
"""  # noqa: S608  (names from the model, values as parameters)

# A bucket: (site_id, day, policy_version, language, country, action) -> [count, {category: allowed}]
Deltas = dict[tuple, list]


def category_keys(site_ids: Iterable[int] | None = None) -> list[str]:
    """The refusable categories of the given sites (all if None): built-in ones first, in order."""
    rows = Category.objects.exclude(key=REQUIRED_CATEGORY)
    rows = rows if site_ids is None else rows.filter(site_id__in=list(site_ids))
    keys = set(rows.values_list("key", flat=True).distinct())
    return [k for k in BUILTIN_CATEGORIES if k in keys] + sorted(keys - set(BUILTIN_CATEGORIES))


def _bucket_counts(records: QuerySet, keys: list[str]) -> Deltas:
    """Records counted per bucket, with how many of them allowed each category: one query."""
    # The explicit __exact keeps a category named like a lookup ("in", "contains") a key.
    allowed = {f"a{i}": Count("id", filter=Q(**{f"categories__{key}__exact": True})) for i, key in enumerate(keys)}
    rows = (
        records.annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values(*BUCKET)
        .annotate(n=Count("id"), **allowed)
        .order_by()
    )
    return {
        tuple(row[f] for f in BUCKET): [row["n"], {key: row[f"a{i}"] for i, key in enumerate(keys)}] for row in rows
    }


def _merge(into: Deltas, deltas: Deltas, sign: int = 1) -> Deltas:
    for key, (count, allowed) in deltas.items():
        slot = into.setdefault(key, [0, {}])
        slot[0] += sign * count
        for category, n in allowed.items():
            slot[1][category] = slot[1].get(category, 0) + sign * n
    return into


def _current_deltas(lo: int, hi: int | None, keys: list[str]) -> Deltas:
    """How the current figures change when the records after id `lo` (up to `hi`) are counted:
    each of their visitors' latest record comes in, the visitor's head as of `lo` goes out."""
    after = Q(id__gt=lo) if hi is None else Q(id__gt=lo, id__lte=hi)
    later = ConsentRecord.objects.filter(
        after, site_id=OuterRef("site_id"), consent_id=OuterRef("consent_id"), id__gt=OuterRef("id")
    )
    latest = ConsentRecord.objects.filter(after).filter(~Exists(later))
    previous = ConsentRecord.objects.filter(
        site_id=OuterRef("site_id"), consent_id=OuterRef("consent_id"), id__lte=lo
    ).order_by("-id")
    deltas = _bucket_counts(latest, keys)
    if lo:
        # Fetched, then read by id in batches: as one nested query the planner scans all records.
        heads = list(
            latest.annotate(previous=Subquery(previous.values("id")[:1]))
            .filter(previous__isnull=False)
            .values_list("previous", flat=True)
            .order_by()
        )
        for i in range(0, len(heads), ID_BATCH):
            batch = ConsentRecord.objects.filter(id__in=heads[i : i + ID_BATCH])
            _merge(deltas, _bucket_counts(batch, keys), sign=-1)
    return deltas


def _removal_deltas(removals: Iterable[PendingRemoval]) -> Deltas:
    deltas: Deltas = {}
    for r in removals:
        key = (r.site_id, r.day, r.policy_version, r.language, r.country, r.action)
        allowed = {c: int(on is True) for c, on in r.categories.items() if c != REQUIRED_CATEGORY}
        _merge(deltas, {key: [1, allowed]}, sign=-1)
    return deltas


def _apply(view: str, deltas: Deltas) -> None:
    """Add the deltas to the stored roll-up rows, in one upsert; rows that fall to zero go."""
    deltas = {k: v for k, v in deltas.items() if v[0] or any(v[1].values())}
    if not deltas:
        return
    stored = DailyConsentStat.objects.filter(
        view=view, site_id__in={k[0] for k in deltas}, day__in={k[1] for k in deltas}
    )
    existing = {tuple(row[:-2]): row[-2:] for row in stored.values_list(*BUCKET, "count", "allowed")}
    rows, emptied = [], Q(pk__in=[])
    for key, (count, allowed) in deltas.items():
        old_count, old_allowed = existing.get(key, (0, {}))
        merged = {c: old_allowed.get(c, 0) + allowed.get(c, 0) for c in {*old_allowed, *allowed}}
        if old_count + count:
            rows.append((view, *key, old_count + count, json.dumps(merged)))
        elif key in existing:
            emptied |= Q(view=view, **dict(zip(BUCKET, key, strict=True)))
    with connection.cursor() as cursor:
        cursor.executemany(UPSERT, rows)
    DailyConsentStat.objects.filter(emptied).delete()


@dataclass
class RollupReport:
    records: int = 0
    removals: int = 0
    last_record_id: int = 0


def rollup(*, now=None, settle: timedelta = SETTLE, chunk_size: int = CHUNK_SIZE) -> RollupReport:
    """Count the records after the high-water mark into the daily roll-ups, in chunks.

    Idempotent and safe from cron: each chunk and its new mark commit together, under a lock
    on the mark, so two runs never count a record twice and an interrupted run resumes.
    """
    now = now or timezone.now()
    report = RollupReport()
    keys = category_keys()
    mark, _ = RollupMark.objects.get_or_create(name=ROLLUP_NAME)
    unsettled = (
        ConsentRecord.objects.filter(id__gt=mark.last_record_id, created_at__gte=now - settle)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    end = unsettled - 1 if unsettled else ConsentRecord.objects.aggregate(m=Max("id"))["m"] or 0
    while True:
        with transaction.atomic():
            mark = RollupMark.objects.select_for_update().get(name=ROLLUP_NAME)
            lo = mark.last_record_id
            # The chunk ends at the chunk_size-th record after the mark, so gaps in the ids
            # (erasures, sequence jumps) cost nothing.
            nth = ConsentRecord.objects.filter(id__gt=lo, id__lte=end).order_by("id").values_list("id", flat=True)
            hi = max(lo, next(iter(nth[chunk_size - 1 : chunk_size]), end))
            removals = list(PendingRemoval.objects.select_for_update())
            if hi == lo and not removals:
                break
            current = _removal_deltas(removals)
            if hi > lo:
                chunk = ConsentRecord.objects.filter(id__gt=lo, id__lte=hi)
                report.records += chunk.count()
                _apply(StatView.DECISIONS, _bucket_counts(chunk, keys))
                _merge(current, _current_deltas(lo, hi, keys))
            _apply(StatView.CURRENT, current)
            PendingRemoval.objects.filter(pk__in=[r.pk for r in removals]).delete()
            report.removals += len(removals)
            mark.last_record_id = hi
            mark.updated_at = now
            mark.save(update_fields=["last_record_id", "updated_at"])
            report.last_record_id = hi
    report.last_record_id = mark.last_record_id
    return report


def note_erasure(records: QuerySet) -> None:
    """Before these records are erased: queue the removal from the current figures of each
    visitor whose latest counted record goes. Called by the erasure service in its transaction,
    under the lock on the mark, so that no roll-up moves it meanwhile."""
    deleting = records.order_by()
    mark = RollupMark.objects.select_for_update().filter(name=ROLLUP_NAME).first()
    if mark is None:
        return
    counted = mark.last_record_id
    later = ConsentRecord.objects.filter(
        site_id=OuterRef("site_id"), consent_id=OuterRef("consent_id"), id__gt=OuterRef("id"), id__lte=counted
    )
    heads = deleting.filter(~Exists(later), id__lte=counted).values_list(
        "site_id", "created_at", "policy_version", "language", "country", "action", "categories"
    )
    PendingRemoval.objects.bulk_create(
        PendingRemoval(
            site_id=site_id,
            day=created_at.astimezone(UTC).date(),
            policy_version=version,
            language=language,
            country=country,
            action=action,
            categories=categories,
        )
        for site_id, created_at, version, language, country, action, categories in heads
    )


# Reading -------------------------------------------------------------------------------------


def period_start(day: date, granularity: str) -> date:
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
    period: date
    group: str
    actions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Action.values, 0))

    @property
    def total(self) -> int:
        return sum(self.actions.values())

    @property
    def shares(self) -> dict[str, float]:
        total = self.total
        return {a: round(100 * n / total, 1) if total else 0.0 for a, n in self.actions.items()}


@dataclass
class InteractionRow:
    period: date
    impressions: int
    decisions: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.decisions / self.impressions, 1) if self.impressions else None


def _check(granularity: str, by: str | None, view: str) -> None:
    if granularity not in GRANULARITIES:
        raise ValueError(f"Granularity is one of {', '.join(GRANULARITIES)}.")
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"Compare by one of {', '.join(DIMENSIONS)}.")
    if view not in StatView.values:
        raise ValueError(f"The view is one of {', '.join(StatView.values)}.")


def _sites(site: Site | SiteSnapshot | None) -> dict[int, int]:
    """Site id -> consent lifetime in days, for one site or all."""
    rows = Site.objects.all() if site is None else Site.objects.filter(pk=site.id)
    return dict(rows.values_list("id", "consent_lifetime_days"))


def _collect(site, start: date, end: date, by: str | None, view: str) -> tuple[list[str], dict]:
    """Counts per (day, group, action): the roll-up rows, plus the records after the mark, live."""
    sites = _sites(site)
    keys = category_keys(sites)
    today = timezone.now().astimezone(UTC).date()
    # In the current view, a decision older than the site's lifetime has expired.
    first_day = {
        s: today - timedelta(days=days - 1) if view == StatView.CURRENT else start for s, days in sites.items()
    }
    dim = DIMENSIONS[by] if by else None
    rows = DailyConsentStat.objects.filter(view=view, day__range=(start, end))
    in_sites = Q(pk__in=[])
    for site_id, day in first_day.items():
        in_sites |= Q(site_id=site_id, day__gte=day)
    rows = rows.filter(in_sites)
    fields = ["day", "action", *([dim] if dim else [])]
    allowed = {
        f"a{i}": Coalesce(Sum(Cast(KeyTextTransform(k, "allowed"), IntegerField())), 0) for i, k in enumerate(keys)
    }
    counts: dict[tuple, list] = defaultdict(lambda: [0, dict.fromkeys(keys, 0)])
    for row in rows.values(*fields).annotate(n=Sum("count"), **allowed).order_by():
        slot = counts[(row["day"], str(row[dim]) if dim else "", row["action"])]
        slot[0] += row["n"]
        for i, k in enumerate(keys):
            slot[1][k] += row[f"a{i}"]
    mark = RollupMark.objects.filter(name=ROLLUP_NAME).values_list("last_record_id", flat=True).first() or 0
    if view == StatView.DECISIONS:
        live = _bucket_counts(ConsentRecord.objects.filter(id__gt=mark, site_id__in=sites), keys)
    else:
        live = _merge(_current_deltas(mark, None, keys), _removal_deltas(PendingRemoval.objects.all()))
    position = {f: i for i, f in enumerate(BUCKET)}
    for key, (n, live_allowed) in live.items():
        site_id, day = key[0], key[1]
        if site_id not in sites or not max(start, first_day[site_id]) <= day <= end:
            continue
        slot = counts[(day, str(key[position[dim]]) if dim else "", key[position["action"]])]
        slot[0] += n
        for k in keys:
            slot[1][k] += live_allowed.get(k, 0)
    if dim == "site_id":
        names = dict(Site.objects.filter(pk__in=sites).values_list("id", "name"))
        counts = {(day, names[int(group)], action): slot for (day, group, action), slot in counts.items()}
    return keys, counts


@dataclass
class Figures:
    """Opt-in rates and action split per period; with a comparison, also per group over the range."""

    keys: list[str]
    rates: list[RateRow]
    split: list[SplitRow]
    compared_rates: list[RateRow] = field(default_factory=list)
    compared_split: list[SplitRow] = field(default_factory=list)


def _fold(keys: list[str], counts: dict, slot_of) -> tuple[list[RateRow], list[SplitRow]]:
    """Sum the (day, group, action) counts into the rows slot_of(day, group) names."""
    rates: dict[tuple, RateRow] = {}
    split: dict[tuple, SplitRow] = {}
    for (day, group, action), (n, allowed) in counts.items():
        key = slot_of(day, group)
        rate = rates.setdefault(key, RateRow(key[0], key[1], 0, dict.fromkeys(keys, 0)))
        rate.decisions += n
        for k in keys:
            rate.allowed[k] += allowed[k]
        split.setdefault(key, SplitRow(key[0], key[1])).actions[action] += n
    return (
        [rates[k] for k in sorted(rates) if rates[k].decisions],
        [split[k] for k in sorted(split) if split[k].total],
    )


def consent_figures(
    *,
    site: Site | SiteSnapshot | None = None,
    start: date,
    end: date,
    granularity: str = "day",
    by: str | None = None,
    view: str = StatView.DECISIONS,
) -> Figures:
    """What the dashboard shows, from one pass over the roll-ups: rates and split per period,
    and with `by` the same per policy version, language, country or site over the whole range."""
    _check(granularity, by, view)
    keys, counts = _collect(site, start, end, by, view)
    rates, split = _fold(keys, counts, lambda day, group: (period_start(day, granularity), ""))
    figures = Figures(keys, rates, split)
    if by:
        figures.compared_rates, figures.compared_split = _fold(keys, counts, lambda day, group: (start, group))
    return figures


def consent_rates(
    *,
    site: Site | SiteSnapshot | None = None,
    start: date,
    end: date,
    granularity: str = "day",
    by: str | None = None,
    view: str = StatView.DECISIONS,
) -> list[RateRow]:
    """Opt-in rate per category (share of decisions, or of current visitors, that allow it),
    per period and, with `by`, per period and policy version, language, country or site."""
    _check(granularity, by, view)
    keys, counts = _collect(site, start, end, by, view)
    return _fold(keys, counts, lambda day, group: (period_start(day, granularity), group))[0]


def action_split(
    *,
    site: Site | SiteSnapshot | None = None,
    start: date,
    end: date,
    granularity: str = "day",
    by: str | None = None,
    view: str = StatView.DECISIONS,
) -> list[SplitRow]:
    """How many decisions (or current visitors) were accept all, reject all, custom, withdraw."""
    _check(granularity, by, view)
    keys, counts = _collect(site, start, end, by, view)
    return _fold(keys, counts, lambda day, group: (period_start(day, granularity), group))[1]


def interaction_rates(
    *, site: Site | SiteSnapshot | None = None, start: date, end: date, granularity: str = "day"
) -> list[InteractionRow]:
    """Decisions divided by banners shown, per period. Sums counts only: no category work."""
    _check(granularity, None, StatView.DECISIONS)
    sites = list(_sites(site))
    rows: dict[date, InteractionRow] = {}

    def add(day: date, decisions: int = 0, impressions: int = 0) -> None:
        period = period_start(day, granularity)
        row = rows.setdefault(period, InteractionRow(period, 0, 0))
        row.decisions += decisions
        row.impressions += impressions

    rolled = DailyConsentStat.objects.filter(view=StatView.DECISIONS, site_id__in=sites, day__range=(start, end))
    for day, n in rolled.values("day").annotate(n=Sum("count")).values_list("day", "n").order_by():
        add(day, decisions=n)
    mark = RollupMark.objects.filter(name=ROLLUP_NAME).values_list("last_record_id", flat=True).first() or 0
    live = ConsentRecord.objects.filter(id__gt=mark, site_id__in=sites).annotate(
        day=TruncDate("created_at", tzinfo=UTC)
    )
    for day, n in live.values("day").annotate(n=Count("id")).values_list("day", "n").order_by():
        if start <= day <= end:
            add(day, decisions=n)
    shown = DailyImpressions.objects.filter(site_id__in=sites, day__range=(start, end))
    for day, n in shown.values("day").annotate(n=Sum("count")).values_list("day", "n").order_by():
        add(day, impressions=n)
    return [rows[k] for k in sorted(rows)]


def record_impression(*, site: SiteSnapshot, language: str = "", country: str = "", day: date | None = None) -> None:
    """Count one banner shown. One counter row per site, day, language and country."""
    day = day or timezone.now().astimezone(UTC).date()
    key = {"site_id": site.id, "day": day, "language": language[:16].lower(), "country": country[:2].upper()}
    if DailyImpressions.objects.filter(**key).update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            DailyImpressions.objects.create(**key, count=1)
    except IntegrityError:
        DailyImpressions.objects.filter(**key).update(count=F("count") + 1)
