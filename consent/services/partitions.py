"""The decision log's monthly partitions on PostgreSQL (migration 0013): made ahead of time, and
dropped once the purge has emptied them. Safe from cron: every step is idempotent, and each one
runs in a transaction of its own. On SQLite there is nothing to do. Each function works on one
database (`using`): the default one or a data region's (consent.residency), each with its own log.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from consent.models import ConsentRecord

TABLE = ConsentRecord._meta.db_table
DEFAULT = f"{TABLE}_default"


@dataclass(frozen=True)
class Partition:
    name: str
    # None: from the beginning (the table the log was before partitioning) or, both, the default.
    start: datetime | None
    end: datetime | None
    rows: int
    bytes: int


def month_start(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def is_partitioned(using: str = DEFAULT_DB_ALIAS) -> bool:
    if connections[using].vendor != "postgresql":
        return False
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [TABLE])
        return cursor.fetchone() is not None


def partitions(using: str = DEFAULT_DB_ALIAS) -> list[Partition]:
    """The log's partitions, oldest first, with their row counts and sizes (table and indexes)."""
    if not is_partitioned(using):
        return []
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname, pg_get_expr(child.relpartbound, child.oid), pg_total_relation_size(child.oid)
            FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE pg_inherits.inhparent = %s::regclass
            """,
            [TABLE],
        )
        found = cursor.fetchall()
        result = []
        for name, bound, size in found:
            cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608 (a name from the catalogue)
            start, end = _bounds(bound)
            result.append(Partition(name, start, end, cursor.fetchone()[0], size))
    return sorted(result, key=lambda p: (p.end is None, p.start or datetime.min.replace(tzinfo=UTC)))


def _bounds(bound: str) -> tuple[datetime | None, datetime | None]:
    """FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2027-01-01 00:00:00+00'), or DEFAULT."""
    if bound == "DEFAULT":
        return None, None
    parts = bound.split("'")
    values = [parts[i] for i in range(1, len(parts), 2)]
    start = None if "MINVALUE" in bound.split(" TO ")[0] else datetime.fromisoformat(values.pop(0))
    end = datetime.fromisoformat(values[0]) if values else None
    return start, end


def ensure_partitions(*, ahead: int = 3, now: datetime | None = None, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Make the partitions of this month and the next `ahead` ones where missing; returns the new
    ones' names. A record the default partition caught for such a month moves into it."""
    if not is_partitioned(using):
        return []
    now = now or timezone.now()
    covered = [p for p in partitions(using) if p.end is not None]
    made = []
    for offset in range(ahead + 1):
        start = month_start(now.year, now.month + offset)
        end = month_start(start.year, start.month + 1)
        if any((p.start is None or p.start <= start) and end <= p.end for p in covered):
            continue
        made.append(_create(start, end, using))
    return made


def _create(start: datetime, end: datetime, using: str) -> str:
    name = f"{TABLE}_p{start:%Y%m}"
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        # Attaching a partition checks that the default holds none of its rows: they move first,
        # under a lock that keeps new ones out meanwhile.
        cursor.execute(f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE created_at >= %s AND created_at < %s RETURNING *) "  # noqa: S608
            f"INSERT INTO {name} SELECT * FROM moved",
            [start, end],
        )
        cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end])
    return name


def drop_empty(*, before: date, now: datetime | None = None, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Drop the monthly partitions that end on or before `before`, and before this month, and hold
    no record (the purge emptied them); returns their names. A partition with records stays: they
    are proof until their retention is over, whatever their age. The months made ahead stay too."""
    now = now or timezone.now()
    dropped = []
    limit = min(datetime(before.year, before.month, before.day, tzinfo=UTC), month_start(now.year, now.month))
    for partition in partitions(using):
        if partition.start is None or partition.end is None or partition.end > limit or partition.rows:
            continue
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            cursor.execute(f'SELECT 1 FROM "{partition.name}" LIMIT 1 FOR UPDATE')  # noqa: S608
            if cursor.fetchone():
                continue
            cursor.execute(f'ALTER TABLE {TABLE} DETACH PARTITION "{partition.name}"')
            cursor.execute(f'DROP TABLE "{partition.name}"')
        dropped.append(partition.name)
    return dropped
