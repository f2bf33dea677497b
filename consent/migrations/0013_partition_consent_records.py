"""The decision log becomes a table partitioned by month on PostgreSQL (docs/operations.md,
"The partitioned decision log"). SQLite, the embedded default, is left as it is.

The existing table becomes the first partition, for every record up to the start of next month, so
no row is copied; new months get partitions of their own (`manage.py partitions`, from cron, keeps
three ahead), and a default partition catches a record dated beyond them. Decisions insert into the
current month's small partition; the purge empties old months, whose partitions are then dropped
instead of vacuumed. PostgreSQL 15 has no identity columns on partitioned tables, so the id comes
from a sequence (Django only reads it back with RETURNING).

Irreversible in the database (the reverse migration leaves the table partitioned, which the model
does not see).
"""

from datetime import UTC, datetime

from django.db import migrations

TABLE = "consent_consentrecord"
LEGACY = f"{TABLE}_legacy"
AHEAD = 3


def month_start(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [TABLE])
        if cursor.fetchone():
            return
        now = datetime.now(UTC)
        boundary = month_start(now.year, now.month + 1)
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {TABLE}")  # noqa: S608
        (last_id,) = cursor.fetchone()
        # The old table, its indexes and constraints, under names of their own.
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {LEGACY}")
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [LEGACY])
        for (index,) in cursor.fetchall():
            cursor.execute(f'ALTER INDEX "{index}" RENAME TO "{index[:50]}_legacy"')
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'", [LEGACY]
        )
        for (constraint,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {LEGACY} DROP CONSTRAINT "{constraint}"')
        cursor.execute(f"ALTER TABLE {LEGACY} ALTER COLUMN id DROP IDENTITY IF EXISTS")
        # Its key becomes the partitioned table's (id, created_at), which attaching builds.
        cursor.execute(f'ALTER TABLE {LEGACY} DROP CONSTRAINT "{TABLE}_pkey_legacy"')
        # The partitioned table: the same columns and defaults, the primary key with the partition key.
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {LEGACY} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            "PARTITION BY RANGE (created_at)"
        )
        cursor.execute(f"CREATE SEQUENCE {TABLE}_id_seq OWNED BY {TABLE}.id")
        cursor.execute(f"SELECT setval('{TABLE}_id_seq', %s, %s)", [max(last_id, 1), last_id > 0])
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')")
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, created_at)")
        cursor.execute(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_site_id_fk FOREIGN KEY (site_id) "
            "REFERENCES consent_site (id) DEFERRABLE INITIALLY DEFERRED"
        )
        cursor.execute(f"CREATE INDEX {TABLE}_site_id ON {TABLE} (site_id)")
        cursor.execute(f"CREATE INDEX record_visitor_idx ON {TABLE} (site_id, consent_id, id)")
        cursor.execute(f"CREATE INDEX record_site_time_idx ON {TABLE} (site_id, created_at)")
        # The old table is the partition of everything before next month: a check constraint first,
        # so that attaching it needs no scan of its rows.
        cursor.execute(f"ALTER TABLE {LEGACY} ADD CONSTRAINT {LEGACY}_range CHECK (created_at < %s)", [boundary])
        cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {LEGACY} FOR VALUES FROM (MINVALUE) TO (%s)", [boundary])
        cursor.execute(f"ALTER TABLE {LEGACY} DROP CONSTRAINT {LEGACY}_range")
        for ahead in range(AHEAD):
            start = month_start(boundary.year, boundary.month + ahead)
            end = month_start(start.year, start.month + 1)
            cursor.execute(
                f"CREATE TABLE {TABLE}_p{start:%Y%m} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)", [start, end]
            )
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")


class Migration(migrations.Migration):
    dependencies = [("consent", "0012_cookie_scans")]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
