"""The dashboard's stored counts: the daily roll-ups of decisions, and the banner impressions.

`rollup()` (the `rollup` command, run from cron) counts the records after a stored high-water mark
by record id into `DailyConsentStat`, in the buckets and views of consent.selectors.figures, and
moves the mark; the figures add the records after the mark live. Erasure queues a counted
visitor's removal from the current figures (`PendingRemoval`), which the next roll-up applies.

Each database that holds visitors' data (consent.residency) has its own record ids, and so its own
mark, roll-ups and queue of removals: the roll-up runs in each, in transactions of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import Exists, F, Max, OuterRef, QuerySet
from django.utils import timezone

from consent import residency
from consent.models import (
    ConsentRecord,
    DailyConsentStat,
    DailyImpressions,
    PendingRemoval,
    RollupMark,
    StatView,
)
from consent.selectors.figures import (
    ROLLUP_NAME,
    Bucket,
    Deltas,
    Tally,
    bucket_counts,
    category_keys,
    current_deltas,
    merge,
    removal_deltas,
)
from consent.services.sites import SiteSnapshot

# Records younger than this are left for the next run: a transaction that took an id earlier
# may still be committing, and the mark must never pass a record that is not yet visible.
SETTLE = timedelta(minutes=2)
CHUNK_SIZE = 100_000

COLUMNS = ("view", *Bucket._fields, "count", "allowed")
UPSERT = f"""
    INSERT INTO {DailyConsentStat._meta.db_table} ({", ".join(COLUMNS)})
    VALUES ({", ".join(["%s"] * len(COLUMNS))})
    ON CONFLICT (view, {", ".join(Bucket._fields)}) DO UPDATE SET count = excluded.count, allowed = excluded.allowed
"""  # noqa: S608  (names from the model, values as parameters)


@dataclass
class DatabaseRollup:
    """What one run counted in one database, and how far that database's roll-ups now reach."""

    database: str
    records: int = 0
    removals: int = 0
    last_record_id: int = 0


@dataclass
class RollupReport:
    """What one run counted, in all and per database."""

    databases: list[DatabaseRollup] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(done.records for done in self.databases)

    @property
    def removals(self) -> int:
        return sum(done.removals for done in self.databases)

    @property
    def last_record_id(self) -> int:
        """How far the default database's roll-ups reach (each database has ids of its own)."""
        return next((done.last_record_id for done in self.databases if done.database == DEFAULT_DB_ALIAS), 0)


def rollup(*, now: datetime | None = None, settle: timedelta = SETTLE, chunk_size: int = CHUNK_SIZE) -> RollupReport:
    """Count the records after the high-water mark into the daily roll-ups, in chunks, in every
    database that holds a site's visitors' data.

    Idempotent and safe from cron: each chunk and its new mark commit together, under a lock
    on the mark, so two runs never count a record twice and an interrupted run resumes.
    """
    now = now or timezone.now()
    keys = category_keys()
    return RollupReport(
        [_rollup_database(database, now, settle, chunk_size, keys) for database in residency.databases()]
    )


def _rollup_database(
    database: str, now: datetime, settle: timedelta, chunk_size: int, keys: list[str]
) -> DatabaseRollup:
    """The roll-up of one database's records, under its own mark."""
    report = DatabaseRollup(database)
    marks = RollupMark.objects.using(database)
    mark, _ = marks.get_or_create(name=ROLLUP_NAME)
    end = _settled_end(database, mark.last_record_id, now - settle)
    while True:
        with transaction.atomic(using=database):
            mark = marks.select_for_update().get(name=ROLLUP_NAME)
            lo = mark.last_record_id
            hi = _chunk_end(database, lo, end, chunk_size)
            removals = list(PendingRemoval.objects.using(database).select_for_update())
            if hi == lo and not removals:
                break
            report.records += _count_chunk(database, lo, hi, removals, keys)
            report.removals += len(removals)
            mark.last_record_id = hi
            mark.updated_at = now
            mark.save(update_fields=["last_record_id", "updated_at"])
    report.last_record_id = mark.last_record_id
    return report


def _settled_end(database: str, lo: int, settled_before: datetime) -> int:
    """The last record id this run may count: the one before the first record after `lo` that is
    too young to be sure no earlier id is still committing, or else the last record."""
    records = ConsentRecord.objects.using(database)
    unsettled = (
        records.filter(id__gt=lo, created_at__gte=settled_before).order_by("id").values_list("id", flat=True).first()
    )
    return unsettled - 1 if unsettled else records.aggregate(m=Max("id"))["m"] or 0


def _chunk_end(database: str, lo: int, end: int, chunk_size: int) -> int:
    """The id of the chunk_size-th record after `lo` (at most `end`), so that gaps in the ids
    (erasures, sequence jumps) cost nothing."""
    nth = (
        ConsentRecord.objects.using(database).filter(id__gt=lo, id__lte=end).order_by("id").values_list("id", flat=True)
    )
    return max(lo, next(iter(nth[chunk_size - 1 : chunk_size]), end))


def _count_chunk(database: str, lo: int, hi: int, removals: list[PendingRemoval], keys: list[str]) -> int:
    """Add the records lo < id <= hi to both views and take the queued removals out of the
    current one; returns how many records were counted."""
    current = removal_deltas(removals)
    counted = 0
    if hi > lo:
        chunk = ConsentRecord.objects.using(database).filter(id__gt=lo, id__lte=hi)
        counted = chunk.count()
        _apply(database, StatView.DECISIONS, bucket_counts(chunk, keys))
        merge(current, current_deltas(lo, hi, keys, using=database))
    _apply(database, StatView.CURRENT, current)
    PendingRemoval.objects.using(database).filter(pk__in=[r.pk for r in removals]).delete()
    return counted


def _apply(database: str, view: str, deltas: Deltas) -> None:
    """Add the deltas to the stored roll-up rows, in one upsert; rows that fall to zero go."""
    deltas = {bucket: tally for bucket, tally in deltas.items() if not tally.empty}
    if not deltas:
        return
    existing = _stored(database, view, deltas)
    rows, emptied = [], []
    for bucket, tally in deltas.items():
        pk, total = existing.get(bucket) or (None, Tally())
        total.add(tally)
        if total.count:
            rows.append((view, *bucket, total.count, json.dumps(total.allowed)))
        elif pk is not None:
            emptied.append(pk)
    with connections[database].cursor() as cursor:
        cursor.executemany(UPSERT, rows)
    # By primary key: one condition per emptied row, OR-ed, made PostgreSQL test each against every
    # row of the view (29 s of a 34 s roll-up at 100,000 decisions, bench/scale.py).
    DailyConsentStat.objects.using(database).filter(pk__in=emptied).delete()


# The stored rows of exactly these buckets, by the unique index: a returning visitor's earlier
# decision may lie on any day, so the sites' and days' cross product would read most of the view.
STORED_BY_KEY = f"""
    SELECT stat.id, {", ".join(f"stat.{name}" for name in Bucket._fields)}, stat.count, stat.allowed
    FROM {DailyConsentStat._meta.db_table} AS stat
    JOIN unnest(%s::bigint[], %s::date[], %s::integer[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
        AS wanted ({", ".join(Bucket._fields)}) USING ({", ".join(Bucket._fields)})
    WHERE stat.view = %s
"""  # noqa: S608  (names from the model, values as parameters)


def _stored(database: str, view: str, buckets: Iterable[Bucket]) -> dict[Bucket, tuple[int, Tally]]:
    """The stored rows of the view on these buckets, with their ids: one query."""
    if connections[database].vendor == "postgresql":
        columns = [list(column) for column in zip(*buckets, strict=True)] or [[] for _ in Bucket._fields]
        with connections[database].cursor() as cursor:
            cursor.execute(STORED_BY_KEY, [*columns, view])
            return {Bucket._make(row[1:-2]): (row[0], Tally(row[-2], _json(row[-1]))) for row in cursor.fetchall()}
    # SQLite, the embedded default, keeps small roll-ups: the sites' and days' rows are few.
    site_ids, days = set(), set()
    for bucket in buckets:
        site_ids.add(bucket.site_id)
        days.add(bucket.day)
    rows = DailyConsentStat.objects.using(database).filter(view=view, site_id__in=site_ids, day__in=days)
    return {
        Bucket._make(row[1:-2]): (row[0], Tally(*row[-2:]))
        for row in rows.values_list("pk", *Bucket._fields, "count", "allowed")
    }


def note_erasure(records: QuerySet) -> None:
    """Before these records are erased: queue the removal from the current figures of each
    visitor whose latest counted record goes, in the records' database (`records.db`: one site's,
    `ConsentRecord.objects.using(site_database(site))`). Called by the erasure service in its
    transaction on that database, under the lock on its mark, so that no roll-up moves it meanwhile."""
    database = records.db
    mark = RollupMark.objects.using(database).select_for_update().filter(name=ROLLUP_NAME).first()
    if mark is None:
        return
    PendingRemoval.objects.using(database).bulk_create(_removals(records.order_by(), mark.last_record_id))


def _removals(deleting: QuerySet, counted: int) -> Iterable[PendingRemoval]:
    """One removal per visitor among `deleting` whose latest record up to id `counted` goes."""
    later = ConsentRecord.objects.filter(
        site_id=OuterRef("site_id"), consent_id=OuterRef("consent_id"), id__gt=OuterRef("id"), id__lte=counted
    )
    heads = deleting.filter(~Exists(later), id__lte=counted).values(
        "site_id", "created_at", "policy_version", "language", "country", "regime", "region", "action", "categories"
    )
    for head in heads:
        yield PendingRemoval(day=head.pop("created_at").astimezone(UTC).date(), **head)


def record_impression(*, site: SiteSnapshot, language: str = "", country: str = "", day: date | None = None) -> None:
    """Count one banner shown, in the site's database. One counter row per site, day, language and
    country."""
    day = day or timezone.now().astimezone(UTC).date()
    key = {"site_id": site.id, "day": day, "language": language[:16].lower(), "country": country[:2].upper()}
    database = residency.site_database(site)
    impressions = DailyImpressions.objects.using(database)
    if impressions.filter(**key).update(count=F("count") + 1):
        return
    try:
        with transaction.atomic(using=database):
            impressions.create(**key, count=1)
    except IntegrityError:
        impressions.filter(**key).update(count=F("count") + 1)


def _json(value) -> dict:
    """A jsonb column read by a plain cursor: text, or already decoded, by the driver's setup."""
    return json.loads(value) if isinstance(value, str) else value
