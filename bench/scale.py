"""Benchmark of the platform at scale: the same operations at 1,000,000, 10,000,000 and 50,000,000
decisions, each figure beside the first size's, and the database's own limit for a decision.

What it does, in one run:
  1. recreates the PostgreSQL database `cmp_bench_scale` and migrates it; gives the decision log a
     partition per month for the last 25 months, as a deployment partitioned two years ago has
     them (the migration, on an empty database, made one partition for everything before next
     month); creates 100 sites, an API key each and a staff user through the services;
  2. for each size, loads the decisions it lacks with COPY (bench/chains.py: valid hash chains, the
     visitors' states, one decision in three a visitor changing their mind, spread over the last 24
     months and over the sites, the sites' rows interleaved as live traffic leaves them), builds the
     indexes, VACUUMs (autovacuum may be off, as on the test server) and rolls the new records up;
  3. measures, in process (and through Django's test client where HTTP is cheap to add):
     - the check of random visitors (consent.services.checks), cold (Redis db 14 emptied: the state
       read from PostgreSQL) and cached, and both through the API;
     - the dashboard's figures (consent.selectors.figures): one site for 30 days by day, one site for
       180 days by week compared by country, all sites for 180 days by month, and the same pages
       through the admin (median of 5 each), with 10,000 decisions after the roll-up's mark counted
       live (a third of them returning visitors through record_decision, the rest new visitors);
     - the roll-up of those 10,000; purge with the first site's retention set so that it deletes
       about 1% of its records; verify_site of that site (chains and erasure markers);
     - a decision (record_decision) of returning visitors of random sites, and through the API;
     - at the first and the last size: decisions per second from 1 and 4 processes, record_decision
       against the same writes (the record, and the state upserted, the previous hash read under a
       lock) as one SQL statement sent straight to PostgreSQL with psycopg, no Django; with the CPU
       each costs the writers and the PostgreSQL server (its processes' times in /proc: run the
       benchmark on the database's machine);
  4. prints the tables: each operation at each size and the last size against the first; the load;
     the disk per million decisions (the log's partitions, tables and indexes) and per million
     visitors (the states); the partitions; the decision rates. Drops its database (--keep: not).

    .venv/bin/python bench/scale.py                  # 1M, 10M, 50M: hours, about 50 GB of disk at the end
    .venv/bin/python bench/scale.py --sizes 20000 100000 --sites 10 --seconds 3   # a trial: minutes
    .venv/bin/python bench/scale.py --keep ...       # keep the database, and then, after a failure or
    .venv/bin/python bench/scale.py --reuse ...      # to measure another size: sizes measured already
                                                     # are reprinted, loading continues from where it was

Needs PostgreSQL and Redis on 127.0.0.1 (as for the tests). Measure on a quiet machine: the figures
of one run against each other say how the platform grows; a busy machine moves them all.
"""

import argparse
import json
import math
import multiprocessing
import os
import random
import statistics
import time
import uuid
import warnings
from bisect import bisect_right
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path

from chains import COUNTRIES, PATHS, USER_AGENTS, Job, Visitors, consent_uuid, copy_in  # bench/chains.py
from project import setup_django  # bench/project.py

DB_NAME = "cmp_bench_scale"
PUBLIC_RATE = "100000000/min"
MONTHS = 24
CHUNK = 10_000  # visitors a generating process makes at a time
ROLLUP_BATCH = 10_000
PURGE_SHARE = 0.01
TABLES = """
CREATE TABLE IF NOT EXISTS bench_scale_visitors (site_id bigint, start bigint, stop bigint, decisions bigint);
CREATE TABLE IF NOT EXISTS bench_scale_figures (size bigint PRIMARY KEY, figures jsonb);
"""
# One decision as one statement: the visitor's previous hash read under a lock, the record
# inserted with its hash computed in SQL (SHA-256 over the same fields, not the app's canonical
# JSON: its chains do not verify, so it writes to every site but the verified first one), the state upserted.
RAW_DECISION = """
WITH head AS (
    SELECT head_hash FROM consent_consentstate WHERE site_id = %(site)s::bigint AND consent_id = %(id)s::uuid FOR UPDATE
), record AS (
    INSERT INTO consent_consentrecord (site_id, consent_id, categories, action, source, policy_version, language,
                                       url, user_agent, ip_address, country, created_at, prev_hash, hash)
    SELECT %(site)s::bigint, %(id)s::uuid, %(categories)s::jsonb, %(action)s::text, 'banner', 1, %(language)s::text,
           %(url)s::text, %(agent)s::text, %(ip)s::text, %(country)s::text, now(), prev,
           encode(sha256(convert_to(concat_ws('|', prev, %(key)s::text, %(id)s::uuid, %(categories)s::jsonb,
               %(action)s::text, 'banner', 1, %(language)s::text, %(url)s::text, %(agent)s::text, %(ip)s::text,
               %(country)s::text, now()), 'UTF8')), 'hex')
    FROM (SELECT coalesce((SELECT head_hash FROM head), repeat('0', 64)) AS prev) AS chain
    RETURNING site_id, consent_id, categories, action, source, policy_version, created_at, hash
)
INSERT INTO consent_consentstate AS state (site_id, consent_id, categories, action, source, policy_version,
                                           decided_at, first_decided_at, record_count, head_hash, token_hash)
SELECT site_id, consent_id, categories, action, source, policy_version, created_at, created_at, 1, hash, ''
FROM record
ON CONFLICT (site_id, consent_id) DO UPDATE SET
    categories = excluded.categories, action = excluded.action, source = excluded.source,
    policy_version = excluded.policy_version, decided_at = excluded.decided_at,
    record_count = state.record_count + 1, head_hash = excluded.head_hash
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000, 50_000_000])
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server, no db name")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="emptied by the run")
    parser.add_argument("--reuse", action="store_true", help="continue on the database of an earlier --keep run")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--samples", type=int, default=200, help="checks and decisions timed at each size")
    parser.add_argument("--seconds", type=float, default=10, help="of each decision-rate run")
    parser.add_argument("--processes", type=int, default=4, help="writers of the concurrent decision-rate runs")
    args = parser.parse_args()
    args.sizes = sorted(args.sizes)
    return args


def label(size: int) -> str:
    return f"{size / 1e6:g}M" if size >= 1_000_000 else f"{size / 1e3:g}k"


def timed(function, *args, **kwargs) -> tuple[object, float]:
    """The result and the milliseconds it took."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def median_ms(function, calls: list[tuple]) -> float:
    return statistics.median(timed(function, *call)[1] for call in calls)


# Setting up -----------------------------------------------------------------------------------


def open_database(args) -> bool:
    """Make the database (dropped first) unless reusing one that has the bench's tables; True if new."""
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if args.reuse and exists:
            with psycopg.connect(f"{args.pg}/{DB_NAME}") as conn:
                if conn.execute("SELECT to_regclass('bench_scale_visitors')").fetchone()[0]:
                    return False
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    return True


def drop_database(args) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def partition_history(months: int) -> list[str]:
    """A partition per month since `months` months ago and ahead, made by the service
    (consent.services.partitions.ensure_partitions); before them, the first partition. Only on the
    empty log the migration left."""
    from django.db import connection
    from django.utils import timezone

    from consent.services.partitions import TABLE, ensure_partitions, month_start

    now = timezone.now()
    start = month_start(now.year, now.month - months)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {TABLE}_legacy")
        cursor.execute(f"DROP TABLE {TABLE}_legacy")
        cursor.execute(f"CREATE TABLE {TABLE}_legacy PARTITION OF {TABLE} FOR VALUES FROM (MINVALUE) TO (%s)", [start])
    return ensure_partitions(ahead=months + 3, now=start)


def origin(number: int) -> str:
    return f"https://site{number:03d}.example"


def create_sites(count: int) -> None:
    from django.contrib.auth.models import User

    from consent.services.sites import create_site

    for number in range(1, count + 1):
        create_site(name=f"Site {number:03d}", origins=[origin(number)], languages=["en", "de", "fr", "es"])
    User.objects.create_user("bench", is_staff=True, is_superuser=True)


class Population:
    """Every loaded visitor (bench_scale_visitors), to pick from at random."""

    def __init__(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT site_id, start, stop FROM bench_scale_visitors ORDER BY start")
            self.rows = cursor.fetchall()
        self.ends = list(accumulate(stop - start for _, start, stop in self.rows))

    def pick(self, rng: random.Random, exclude: int | None = None) -> tuple[int, uuid.UUID]:
        while True:
            n = rng.randrange(self.ends[-1])
            k = bisect_right(self.ends, n)
            site_id, start, stop = self.rows[k]
            if site_id != exclude:
                return site_id, uuid.UUID(consent_uuid(stop - (self.ends[k] - n), scrambled=True))


def loaded_so_far() -> tuple[int, int]:
    """Decisions loaded, and the next visitor's number."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(decisions), 0)::bigint, coalesce(max(stop), 0)::bigint FROM bench_scale_visitors"
        )
        return cursor.fetchone()


def add_decisions(
    sites, decisions: int, first_from: datetime, first_until: datetime, until: datetime, *, changing=True, **copy
):
    """COPY `decisions` more, spread evenly over the sites and their new visitors (`changing`: one
    decision in three a visitor changing their mind; else one each), each site's in jobs of the same
    number of slices."""
    from django.db import connection

    _, next_visitor = loaded_so_far()
    groups = []
    for index, site in enumerate(sites):
        share = decisions // len(sites) + (index < decisions % len(sites))
        if share:
            count = share - share // 3 if changing else share
            groups.append(Visitors(site.id, site.key, origin(index + 1), next_visitor, next_visitor + count, share))
            next_visitor += count
    parts = math.ceil(sum(g.stop - g.start for g in groups) / CHUNK)
    slices = [group.split(parts) for group in groups]
    jobs = [
        Job(tuple(s[k] for s in slices if k < len(s)), first_from, first_until, until, scrambled=True)
        for k in range(parts)
    ]
    seconds = copy_in(jobs, **copy)
    with connection.cursor() as cursor:
        for g in groups:
            cursor.execute(
                "INSERT INTO bench_scale_visitors VALUES (%s, %s, %s, %s)", [g.site_id, g.start, g.stop, g.decisions]
            )
    return seconds


def load(sites, decisions: int) -> dict[str, float]:
    """The decisions spread over the last MONTHS months, then VACUUM and the roll-up of them."""
    from django.db import connection
    from django.utils import timezone

    from consent.services.rollup import rollup

    now = timezone.now()
    seconds = add_decisions(sites, decisions, now - timedelta(days=MONTHS * 365 / 12), now - timedelta(hours=1), now)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM consent_consentrecord, consent_consentstate")
    seconds["vacuum"] = time.perf_counter() - started
    # Catching up on a bulk load, not the cron's case (measured apart): nothing is committing.
    _, seconds["rollup"] = timed(rollup, settle=timedelta(0))
    seconds["rollup"] /= 1000
    return seconds


# Measuring ------------------------------------------------------------------------------------


class Bench:
    """What the measurements share: the sites, their snapshots and API keys, the test clients."""

    def __init__(self, args):
        from django.contrib.auth.models import User
        from django.test import Client

        from consent.models import Site
        from consent.services.sites import create_api_key, site_snapshot
        from tests.staff import sign_in_staff

        self.args = args
        self.sites = list(Site.objects.order_by("pk"))
        self.by_id = {site.id: site for site in self.sites}
        self.snapshots = {site.id: site_snapshot(site.key) for site in self.sites}
        self.tokens = {site.id: create_api_key(site=site, name=f"bench {time.time():.0f}")[1] for site in self.sites}
        self.api = Client()
        user = User.objects.get(username="bench")
        self.staff = sign_in_staff(Client(), user, "bench")
        self.rng = random.Random(1)
        self.population = None

    def measure(self) -> dict[str, float]:
        self.population = Population()
        figures = {}
        figures.update(self.checks())
        self.add_tail()
        figures.update(self.dashboard())
        figures.update(self.rollup())
        figures.update(self.purge())
        figures.update(self.verify())
        figures.update(self.decisions())
        return figures

    def checks(self) -> dict[str, float]:
        """First checks of visitors (a Redis miss: the state read from PostgreSQL), then the same again."""
        import redis

        from consent.services.checks import check_category
        from consent.services.sites import site_snapshot

        redis.Redis.from_url(self.args.redis).flushdb()
        for site in self.sites:
            site_snapshot(site.key)
            # The API's first check of a site caches its key and snapshot; an id no one decided under.
            self.api_check(site.id, uuid.UUID(consent_uuid(2**32 - 1)))
        picks = [self.population.pick(self.rng) for _ in range(self.args.samples)]
        calls = [(self.snapshots[site_id], consent_id, "analytics") for site_id, consent_id in picks]
        figures = {
            "check, cold: Redis miss, state from PostgreSQL": median_ms(check_category, calls),
            "check, cached in Redis": median_ms(check_category, calls),
        }
        picks = [self.population.pick(self.rng) for _ in range(self.args.samples)]
        figures["API check, cold"] = median_ms(self.api_check, picks)
        figures["API check, cached"] = median_ms(self.api_check, picks)
        return figures

    def api_check(self, site_id: int, consent_id: uuid.UUID) -> None:
        site = self.by_id[site_id]
        response = self.api.get(
            f"/api/v1/sites/{site.key}/consents/{consent_id}/categories/analytics",
            HTTP_AUTHORIZATION=f"Bearer {self.tokens[site_id]}",
        )
        assert response.status_code == 200, response.content

    def decide(self, site_id: int, consent_id: uuid.UUID) -> None:
        from consent.services.records import record_decision

        record_decision(site=self.snapshots[site_id], consent_id=consent_id, policy_version=1, **decision(self.rng))

    def api_decide(self, site_id: int, consent_id: uuid.UUID) -> None:
        site = self.by_id[site_id]
        fields = decision(self.rng)
        body = {
            "consent_id": str(consent_id),
            "token": f"bench-{consent_id}",
            "action": fields["action"],
            "categories": fields["choices"],
            "policy_version": 1,
            "language": fields["language"],
            "url": fields["url"],
        }
        response = self.api.post(
            f"/api/v1/sites/{site.key}/consents",
            body,
            content_type="application/json",
            HTTP_ORIGIN=origin(self.sites.index(site) + 1),
            HTTP_USER_AGENT=fields["user_agent"],
        )
        assert response.status_code == 201, response.content

    def decisions(self) -> dict[str, float]:
        """Returning visitors of random sites changing their mind."""
        picks = [self.population.pick(self.rng) for _ in range(self.args.samples)]
        figures = {"decision, record_decision": median_ms(self.decide, picks)}
        picks = [self.population.pick(self.rng) for _ in range(self.args.samples)]
        figures["API decision"] = median_ms(self.api_decide, picks)
        return figures

    def dashboard(self) -> dict[str, float]:
        from django.utils import timezone

        from consent.selectors.figures import consent_figures

        today = timezone.now().date()
        site = self.sites[1 % len(self.sites)]
        pages = {
            "1 site, 30 days by day": {"site": site, "start": today - timedelta(days=29)},
            "1 site, 180 days by week, by country": {
                "site": site, "start": today - timedelta(days=179), "granularity": "week", "by": "country"
            },
            "all sites, 180 days by month": {"start": today - timedelta(days=179), "granularity": "month"},
        }  # fmt: skip
        # With the tail after the mark, counted live, as between two roll-ups.
        figures = {}
        for name, query in pages.items():
            query["end"] = today
            consent_figures(**query)  # warm up
            figures[f"dashboard figures: {name}"] = median_ms(lambda q=query: consent_figures(**q), [()] * 5)
        for name, query in pages.items():
            params = {key: value.pk if key == "site" else str(value) for key, value in query.items()}
            self.admin_page(params)
            figures[f"admin page: {name}"] = median_ms(self.admin_page, [(params,)] * 5)
        return figures

    def admin_page(self, params: dict) -> None:
        response = self.staff.get("/admin/consent/site/dashboard/", params)
        assert response.status_code == 200

    def add_tail(self) -> None:
        """10,000 decisions after the roll-up's mark, which the dashboard counts live until the next
        roll-up: one in three a returning visitor changing their mind (record_decision: their earlier
        decision leaves the current figures), the others new visitors of a few minutes ago (COPY)."""
        from django.utils import timezone

        now = timezone.now()
        returning = ROLLUP_BATCH // 3
        add_decisions(
            self.sites, ROLLUP_BATCH - returning, now - timedelta(minutes=10), now - timedelta(minutes=5),
            now - timedelta(minutes=3), changing=False, bulk=False,
        )  # fmt: skip
        for _ in range(returning):
            self.decide(*self.population.pick(self.rng))

    def rollup(self) -> dict[str, float]:
        """The cron's roll-up of the tail, with no settling time: the records of the last seconds too."""
        from consent.services.rollup import rollup

        report, ms = timed(rollup, settle=timedelta(0))
        assert report.records == ROLLUP_BATCH, report
        return {f"roll-up of {ROLLUP_BATCH:,} new decisions": ms}

    def purge(self) -> dict[str, float]:
        """The first site's retention set so that its oldest 1% of visitors are due."""
        from django.utils import timezone

        from consent.models import ConsentState, Site
        from consent.services.retention import purge

        site = self.sites[0]
        states = ConsentState.objects.filter(site=site).order_by("decided_at")
        oldest = states.values_list("decided_at", flat=True)[int(states.count() * PURGE_SHARE)]
        Site.objects.filter(pk=site.pk).update(retention_days=(timezone.now() - oldest).days)
        try:
            report, ms = timed(purge)
        finally:
            Site.objects.filter(pk=site.pk).update(retention_days=site.retention_days)
        return {"purge, ~1% of one site's records": ms, "purge: records deleted (count)": report.records}

    def verify(self) -> dict[str, float]:
        from consent.services.proof import verify_site

        report, ms = timed(verify_site, self.sites[0])
        assert report.intact, report.broken
        return {"verify_site, one site": ms, "verify_site: records checked (count)": report.records}

    def rates(self) -> dict[str, dict[str, float]]:
        """Decisions per second from 1 and N processes: the app, then one SQL statement."""
        from django.db import connection, connections

        global _forked
        dsn = connection.get_connection_params()
        _forked = {"bench": self, "dsn": dsn, "seconds": self.args.seconds}
        connections.close_all()  # the writers are forked: they must not share the parent's connection
        figures = {}
        for processes in (1, self.args.processes):
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                rates = figures[str(processes)] = {}
                for name, writer in (("app", _app_writer), ("sql", _sql_writer)):
                    server_before = postgres_cpu_seconds()
                    runs = pool.map(writer, range(processes))
                    server = postgres_cpu_seconds() - server_before
                    done = sum(count for count, _, _ in runs)
                    rates[name] = sum(count / seconds for count, seconds, _ in runs)
                    # CPU per decision: the writers' own (Python and the driver), and PostgreSQL's.
                    rates[f"{name} client ms"] = sum(cpu for _, _, cpu in runs) / done * 1000
                    rates[f"{name} server ms"] = server / done * 1000
        return figures


_forked: dict = {}


def decision(rng: random.Random) -> dict:
    """A visitor's decision, as record_decision takes it."""
    action, choices = rng.choice(
        [("accept_all", {}), ("reject_all", {}), ("custom", {"analytics": True, "marketing": False})]
    )
    return {
        "action": action,
        "choices": choices,
        "language": rng.choice(["en", "de", "fr", "es"]),
        "url": f"https://site.example{rng.choice(PATHS)}",
        "user_agent": rng.choice(USER_AGENTS),
        "ip_address": f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.17",
        "country": rng.choice(COUNTRIES),
    }


def _app_writer(number: int) -> tuple[int, float, float]:
    """record_decision for returning visitors (not of the verified first site) for --seconds: the
    decisions, the seconds and this process's CPU seconds."""
    bench, rng = _forked["bench"], random.Random(f"app {number} {time.time()}")
    done, started, cpu = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - started) < _forked["seconds"]:
        bench.decide(*bench.population.pick(rng, exclude=bench.sites[0].id))
        done += 1
    return done, elapsed, time.process_time() - cpu


def _sql_writer(number: int) -> tuple[int, float, float]:
    """RAW_DECISION for the same visitors, straight through psycopg (prepared): as _app_writer."""
    import psycopg

    from consent.models import BUILTIN_CATEGORIES

    bench, rng = _forked["bench"], random.Random(f"sql {number} {time.time()}")
    params = {
        key: value for key, value in _forked["dsn"].items() if key in ("dbname", "user", "password", "host", "port")
    }
    with psycopg.connect(**params, autocommit=True) as conn:
        done, started, cpu = 0, time.perf_counter(), time.process_time()
        while (elapsed := time.perf_counter() - started) < _forked["seconds"]:
            site_id, consent_id = bench.population.pick(rng, exclude=bench.sites[0].id)
            fields = decision(rng)
            categories = {
                key: fields["action"] == "accept_all" or bool(fields["choices"].get(key)) for key in BUILTIN_CATEGORIES
            }
            categories["authentication"] = True
            conn.execute(
                RAW_DECISION,
                {"site": site_id, "id": str(consent_id), "key": bench.by_id[site_id].key,
                 "categories": json.dumps(categories), "action": fields["action"], "language": fields["language"],
                 "url": fields["url"], "agent": fields["user_agent"], "ip": fields["ip_address"][:-3] + ".0",
                 "country": fields["country"]},
                prepare=True,
            )  # fmt: skip
            done += 1
    return done, elapsed, time.process_time() - cpu


def postgres_cpu_seconds() -> float:
    """CPU seconds the PostgreSQL server on this machine has used: its processes' own, and those of
    the backends it has reaped (the postmaster's children's), from /proc."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if name.startswith("postgres"):
            ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


# The size of the log ----------------------------------------------------------------------------


def disk() -> dict[str, float]:
    from django.db import connection

    from consent.services.partitions import partitions

    layout = partitions()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(pg_table_size(inhrelid)), sum(pg_indexes_size(inhrelid)) FROM pg_inherits "
            "WHERE inhparent = 'consent_consentrecord'::regclass"
        )
        log_table, log_indexes = cursor.fetchone()
        cursor.execute(
            "SELECT pg_table_size('consent_consentstate'), pg_indexes_size('consent_consentstate'), "
            "(SELECT count(*) FROM consent_consentstate), pg_total_relation_size('consent_dailyconsentstat')"
        )
        state_table, state_indexes, visitors, rollups = cursor.fetchone()
    records = sum(p.rows for p in layout)
    return {
        "records": records,
        "visitors": visitors,
        "log table": int(log_table),
        "log indexes": int(log_indexes),
        "states table": state_table,
        "states indexes": state_indexes,
        "roll-ups": rollups,
        "partitions": [[p.name, p.rows, p.bytes] for p in layout],
    }


# Reporting ------------------------------------------------------------------------------------


def number(value: float) -> str:
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"


def table(head: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(head) + " |")
    print("| --- |" + " ---: |" * (len(head) - 1))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def report(results: dict[int, dict], args) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_setting('shared_buffers')")
        version, buffers = cursor.fetchone()
    print(
        f"\n{args.sites} sites; PostgreSQL {version} (shared_buffers {buffers}), Redis {args.redis}; "
        f"{os.cpu_count()} cores shared with the run's own processes"
    )
    sizes = sorted(results)
    first, last = sizes[0], sizes[-1]
    heads = [label(s) for s in sizes]
    ratio = f"x vs {label(first)}"
    print(f"\n## Operations (ms; the median of {args.samples} checks or decisions, of 5 dashboard pages)\n")
    rows = []
    for name in results[first]["ops"]:
        values = [results[s]["ops"].get(name) for s in sizes]
        cells = [number(v) if v is not None else "" for v in values]
        growth = f"x{values[-1] / values[0]:.2f}" if values[0] and values[-1] is not None else ""
        rows.append([name, *cells, growth])
    table(["operation", *heads, ratio], rows)

    print(
        "Load average (1 min) when each size's measuring began and ended: "
        + ", ".join(
            f"{label(s)} {results[s]['load average'][0]:.1f} to {results[s]['load average'][1]:.1f}"
            for s in sizes
            if "load average" in results[s]
        )
        + "\n"
    )
    print("## Load (seconds)\n")
    keys = ["decisions", "copy", "indexes", "analyze", "vacuum", "rollup"]
    names = ["decisions added", "COPY", "indexes built", "ANALYZE", "VACUUM", "roll-up of them"]
    table(
        ["", *heads],
        [[n, *[number(results[s]["load"].get(k, 0)) for s in sizes]] for n, k in zip(names, keys, strict=True)],
    )

    print("## Disk (table and indexes, pg_table_size and pg_indexes_size)\n")
    gb = 1024**3
    rows = []
    for s in sizes:
        d = results[s]["disk"]
        millions, visitors = d["records"] / 1e6, d["visitors"] / 1e6
        log = (d["log table"] + d["log indexes"]) / gb
        states = (d["states table"] + d["states indexes"]) / gb
        rows.append(
            [
                label(s),
                f"{d['records']:,}",
                f"{log:.2f}",
                f"{d['log table'] / gb / millions:.3f} + {d['log indexes'] / gb / millions:.3f} = {log / millions:.3f}",
                f"{d['visitors']:,}",
                f"{states:.2f}",
                f"{d['states table'] / gb / visitors:.3f} + {d['states indexes'] / gb / visitors:.3f} = "
                f"{states / visitors:.3f}",
                f"{d['roll-ups'] / 1024**2:,.0f}",
            ]
        )
    table(
        ["size", "records", "log GB", "log GB per million decisions", "visitors", "states GB",
         "states GB per million visitors", "roll-ups MB"],
        rows,
    )  # fmt: skip

    print("## The log's partitions (consent.services.partitions.partitions(): rows)\n")
    rows = []
    for name, _, size in results[last]["disk"]["partitions"]:
        counts = [{n: r for n, r, _ in results[s]["disk"]["partitions"]}.get(name, 0) for s in sizes]
        rows.append([name, *[f"{c:,}" for c in counts], f"{size / 1024**2:,.0f}"])
    table(["partition", *heads, f"MB at {label(last)}"], rows)

    print("## Decisions per second: the app against one SQL statement\n")
    rows = []
    for s in sizes:
        for processes, rates in results[s].get("rates", {}).items():
            app, sql = rates["app"], rates["sql"]
            cpu = [number(rates[k]) if k in rates else "" for k in ("app client ms", "app server ms", "sql server ms")]
            rows.append([label(s), processes, number(app), number(sql), f"{app / sql:.0%}", *cpu])
    table(
        ["size", "writers", "record_decision in process", "one SQL statement (psycopg)", "app / SQL",
         "app CPU ms per decision", "PostgreSQL CPU ms per app decision", "PostgreSQL CPU ms per SQL decision"],
        rows,
    )  # fmt: skip


def main() -> None:
    args = parse_args()
    # WhiteNoise looks for collectstatic's output, which the admin pages measured here do not need.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    fresh = open_database(args)
    setup_django(
        f"{args.pg}/{DB_NAME}",
        redis_url=args.redis,
        migrate=True,
        DEBUG="0",
        ALLOWED_HOSTS="testserver",
        CMP_PUBLIC_RATE=PUBLIC_RATE,
    )
    from django.db import connection

    from consent.models import Site

    started = time.monotonic()
    load_before = os.getloadavg()[0]
    if fresh:
        partition_history(MONTHS + 1)
        create_sites(args.sites)
        with connection.cursor() as cursor:
            cursor.execute(TABLES)
    elif Site.objects.count() != args.sites:
        raise SystemExit(f"{DB_NAME} has {Site.objects.count()} sites, not {args.sites}: run without --reuse.")
    bench = Bench(args)
    results = {}
    for size in args.sizes:
        with connection.cursor() as cursor:
            cursor.execute("SELECT figures FROM bench_scale_figures WHERE size = %s", [size])
            stored = cursor.fetchone()
        if stored:
            results[size] = json.loads(stored[0]) if isinstance(stored[0], str) else stored[0]
            print(f"{label(size)}: measured by an earlier run", flush=True)
            continue
        loaded, _ = loaded_so_far()
        # Each measurement leaves its tail of new visitors behind: a size measured again (its row
        # deleted from bench_scale_figures) is short of them, not past it.
        if loaded > size + ROLLUP_BATCH * len(args.sizes):
            print(f"{label(size)}: skipped, {loaded:,} decisions are loaded already", flush=True)
            continue
        missing = max(size - loaded, 0)
        print(f"{label(size)}: loading {missing:,} decisions...", flush=True)
        seconds = load(bench.sites, missing)
        seconds["decisions"] = missing
        print("  " + ", ".join(f"{k} {v:,.1f} s" for k, v in seconds.items() if k != "decisions"), flush=True)
        # The machine's load while this size was measured: a busy machine moves every figure.
        busy = os.getloadavg()[0]
        figures = {"load": seconds, "disk": disk(), "ops": bench.measure()}
        if size in (args.sizes[0], args.sizes[-1]):
            figures["rates"] = bench.rates()
        figures["load average"] = [busy, os.getloadavg()[0]]
        results[size] = figures
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_scale_figures VALUES (%s, %s)", [size, json.dumps(figures)])
        print(f"  measured in {time.monotonic() - started:,.0f} s since the start", flush=True)
    if results:
        report(results, args)
    print(
        f"load average (1 min) at the start {load_before:.1f}, at the end {os.getloadavg()[0]:.1f}; "
        f"{time.monotonic() - started:,.0f} s in all"
    )
    if args.keep:
        print(f"kept the database {DB_NAME} (--reuse continues on it; DROP DATABASE {DB_NAME} frees its disk)")
    else:
        drop_database(args)


if __name__ == "__main__":
    main()
