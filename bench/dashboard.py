"""Benchmark of the consent dashboard and the roll-up on PostgreSQL, from 500,000 to 5,000,000 decisions.

What it does, in one run:
  1. recreates the PostgreSQL database `cmp_bench_stats`, migrates it and creates 3 sites (each with
     three policy versions) and a staff user through the services;
  2. loads 500,000 decisions spread over the last 180 days across the 3 sites with one
     INSERT ... SELECT FROM generate_series (about 1 in 5 is a visitor changing their mind; four
     languages, nine countries, four actions), runs the roll-up and times it, then loads 5,000
     decisions of a few minutes ago that the roll-up has not seen yet (the live tail);
  3. times the dashboard through Django's test client, logged in as staff (each page 5 times,
     the median): all sites for 30 days per day; one site for 180 days per week compared by
     country; all sites for 180 days per month in the current view compared by policy version;
     and the CSV export;
  4. loads 4,500,000 more (5,000,000 in all) and does 2 and 3 again; then times a cron-sized
     roll-up of 10,000 new decisions;
  5. prints how both grew.

    .venv/bin/python bench/dashboard.py                  # about 5 minutes on two cores
    .venv/bin/python bench/dashboard.py --sizes 100000 1000000

Needs PostgreSQL on 127.0.0.1 (as for the tests).
"""

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "cmp_bench_stats"
PG = "postgres://postgres@127.0.0.1:5432"
DAYS = 180
LIVE_TAIL = 5_000
CRON_BATCH = 10_000

# One decision per row of generate_series(:lo, :hi - 1). Visitor floor(i * 0.8): records i and i+1
# share a visitor once in five, and the later one is the visitor changing their mind.
INSERT = """
INSERT INTO consent_consentrecord
    (site_id, consent_id, categories, action, source, policy_version, language, url, user_agent,
     ip_address, country, created_at, prev_hash, hash)
SELECT s.site_id, s.visitor, s.categories, s.action, 'banner', s.version, s.language, '', '', '',
       s.country, s.at, '', ''
FROM (
    SELECT (%(sites)s::bigint[])[1 + v %% 3] AS site_id,
           md5(v::text)::uuid AS visitor,
           CASE WHEN r < 0.55 THEN 'accept_all' WHEN r < 0.80 THEN 'reject_all'
                WHEN r < 0.97 THEN 'custom' ELSE 'withdraw' END AS action,
           jsonb_build_object(
               'authentication', true,
               'preferences', r < 0.55 OR (r >= 0.80 AND r < 0.97 AND c1 < 0.6),
               'analytics', r < 0.55 OR (r >= 0.80 AND r < 0.97 AND c2 < 0.5),
               'marketing', r < 0.55 OR (r >= 0.80 AND r < 0.97 AND c3 < 0.2)) AS categories,
           CASE WHEN age > 120 THEN 1 WHEN age > 45 THEN 2 ELSE 3 END AS version,
           (ARRAY['en', 'de', 'fr', 'es'])[1 + (v * 7) %% 4] AS language,
           (ARRAY['DE', 'FR', 'ES', 'GB', 'US', 'AT', 'NL', 'IT', ''])[1 + (v * 13) %% 9] AS country,
           %(until)s::timestamptz - make_interval(secs => age * 86400) AS at
    FROM (
        SELECT i, floor(i * 0.8)::bigint AS v, random() AS r, random() AS c1, random() AS c2, random() AS c3,
               %(span)s::float8 * (1 - (i - %(lo)s)::float8 / (%(hi)s - %(lo)s)) AS age
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS i
    ) AS g
) AS s
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500_000, 5_000_000], help="Decisions in all")
    return parser.parse_args()


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)


def load(connection, sites: list[int], lo: int, hi: int, span_days: float, until) -> float:
    """Insert decisions lo..hi-1, the oldest span_days before `until`. Returns seconds."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(INSERT, {"sites": sites, "lo": lo, "hi": hi, "span": span_days, "until": until})
        cursor.execute("ANALYZE consent_consentrecord")
    return time.perf_counter() - started


def timed_rollup() -> tuple[float, int]:
    from django.core.management import call_command

    from consent.models import RollupMark

    started = time.perf_counter()
    call_command("rollup", stdout=open(os.devnull, "w"))  # noqa: SIM115
    seconds = time.perf_counter() - started
    return seconds, RollupMark.objects.get().last_record_id


def dashboard_times(client, site_id: int) -> dict[str, float]:
    """Median milliseconds of 5 requests for each page, after one warm-up request."""
    from django.utils import timezone

    today = timezone.now().date()
    month = str(today - timezone.timedelta(days=29))
    half_year = str(today - timezone.timedelta(days=DAYS - 1))
    pages = {
        "all sites, 30 days by day": {"start": month},
        "1 site, 180 days by week, by country": {
            "site": site_id, "start": half_year, "granularity": "week", "by": "country"
        },
        "all, 180 d by month, current, by version": {
            "start": half_year, "granularity": "month", "view": "current", "by": "policy_version"
        },
        "CSV export, all sites, 180 days by day": {"start": half_year, "format": "csv"},
    }  # fmt: skip
    times = {}
    for name, query in pages.items():
        query = {"end": str(today), **query}
        assert client.get("/admin/consent/site/dashboard/", query).status_code == 200
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            response = client.get("/admin/consent/site/dashboard/", query)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        times[name] = statistics.median(samples)
    return times


def main() -> None:
    args = parse_args()
    os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
    os.environ.pop("REDIS_URL", None)
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmp_site.settings")
    # A key of its own for the run: the server refuses to start without one.
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_hex(16))
    print(f"Recreating {DB_NAME} and migrating...", flush=True)
    recreate_database()

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from consent.models import ConsentRecord, DailyConsentStat
    from consent.services.sites import create_site, publish_policy
    from tests.staff import sign_in_staff

    sites = []
    for name in ("Shop", "Magazine", "Travel"):
        site = create_site(name=name, origins=[f"https://{name.lower()}.example"], languages=["en", "de", "fr", "es"])
        publish_policy(site=site, material=False)
        publish_policy(site=site, material=True)
        sites.append(site.pk)
    client = sign_in_staff(Client(), User.objects.create_user("bench", is_staff=True, is_superuser=True), "bench")

    results = []
    loaded = 0
    for size in args.sizes:
        now = timezone.now()
        print(f"Loading {size - loaded:,} decisions over {DAYS} days...", flush=True)
        load_seconds = load(connection, sites, loaded, size, DAYS, now - timezone.timedelta(minutes=10))
        rollup_seconds, mark = timed_rollup()
        print(f"  loaded in {load_seconds:.1f} s; roll-up of them: {rollup_seconds:.1f} s", flush=True)
        # A few minutes' decisions after the mark: counted live by every page.
        base = 100_000_000 + size
        load(connection, sites, base, base + LIVE_TAIL, 1 / 24 / 60, timezone.now() - timezone.timedelta(minutes=3))
        times = dashboard_times(client, sites[0])
        results.append(
            {
                "size": size,
                "rollup": rollup_seconds,
                "rows": DailyConsentStat.objects.count(),
                "live": ConsentRecord.objects.filter(id__gt=mark).count(),
                "times": times,
            }
        )
        loaded = size
        for name, ms in times.items():
            print(f"  {name}: {ms:.0f} ms", flush=True)

    base = 200_000_000
    load(connection, sites, base, base + CRON_BATCH, 1 / 24, timezone.now() - timezone.timedelta(minutes=5))
    cron_seconds, _ = timed_rollup()

    print()
    print(
        f"{'decisions':>12} {'roll-up rows':>13} {'live tail':>10} {'roll-up (new records)':>22}  dashboard page (ms)"
    )
    for r in results:
        pages = "  ".join(f"{ms:6.0f}" for ms in r["times"].values())
        print(f"{r['size']:>12,} {r['rows']:>13,} {r['live']:>10,} {r['rollup']:>20.1f} s  {pages}")
    print("pages: " + " | ".join(results[0]["times"]))
    print(
        f"cron-sized roll-up of {CRON_BATCH:,} new decisions (with the live tail) at {loaded:,}: {cron_seconds:.2f} s"
    )
    if len(results) > 1:
        first, last = results[0], results[-1]
        slowest = max(last["times"].values()) / max(first["times"].values())
        print(
            f"growth x{last['size'] / first['size']:.0f} in decisions: "
            f"roll-up rows x{last['rows'] / first['rows']:.2f}, slowest page x{slowest:.2f}"
        )


if __name__ == "__main__":
    main()
