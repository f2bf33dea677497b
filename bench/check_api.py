"""Benchmark of the consent API under gunicorn on PostgreSQL and Redis, measured with wrk.

What it does, in one run:
  1. creates the PostgreSQL database `cmp_bench` if needed, migrates it, empties it and loads
     1,000,000 decisions (records with valid hash chains, and the visitors' current states) of
     300,000 visitors of one site with COPY; creates an API key through the service;
  2. starts gunicorn with cmp_site/gunicorn.conf.py (4 gthread workers x 4 threads) on
     127.0.0.1:8500, DEBUG off, Redis db 5, and the public throttle raised to 100000000/min so
     that one load generator on one IP is not throttled;
  3. with wrk: the category check GET /api/v1/sites/{key}/consents/{id}/categories/analytics with
     ids spread over every loaded visitor, first with an empty cache (each visitor's first check
     reads the database), then with every state cached, next to the constant JSON view /healthz
     (the baseline); the cached check again paced at half its peak rate for its p99; then the
     same for recording decisions, POST /api/v1/sites/{key}/consents (half of the ids are loaded
     visitors changing their mind, half new visitors);
  4. stops every process it started and prints a table.

    .venv/bin/python bench/check_api.py                 # everything (about 8 minutes on a busy machine)
    .venv/bin/python bench/check_api.py --reuse         # keep the loaded data of an earlier run
    .venv/bin/python bench/check_api.py --only check --workers 4 --threads 1 --duration 20

Needs PostgreSQL and Redis on 127.0.0.1 (as for the tests) and Debian's wrk. The machine has two
cores shared with wrk itself, so absolute figures are modest; compare the ratios of one run.
"""

import argparse
import json
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chains import Job, Visitors, consent_uuid, copy_in  # bench/chains.py

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "cmp_bench"
# One key for the run: the API key is hashed with it here and checked with it by the server.
SECRET_KEY = secrets.token_urlsafe(40)
SITE_NAME = "Bench shop"
ORIGIN = "https://shop.example"
PUBLIC_RATE = "100000000/min"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server, no db name")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--port", type=int, default=8500)
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--visitors", type=int, default=300_000)
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run if it is all there")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", "4")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS", "4")))
    parser.add_argument("--duration", type=int, default=15, help="seconds of each measured wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", choices=["check", "record"], help="measure only one of the two")
    return parser.parse_args()


def setup_django(database_url: str, redis_url: str) -> None:
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=SECRET_KEY,
        DJANGO_SETTINGS_MODULE="cmp_site.settings",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def create_database(pg: str) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def loaded(decisions: int):
    """The bench site if an earlier run loaded exactly this many decisions, else None."""
    from consent.models import ConsentRecord, Site

    site = Site.objects.filter(name=SITE_NAME).first()
    if site and ConsentRecord.objects.filter(site=site).count() >= decisions:
        return site
    return None


CHUNK = 10_000


def load(decisions: int, visitors: int):
    """An empty database, one site and `decisions` records of `visitors` visitors (bench/chains.py),
    their first decisions 150 to 180 days ago: within the consent lifetime, so that the check
    answers from valid states."""
    from django.db import connection

    from consent.services.sites import create_site

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE consent_site RESTART IDENTITY CASCADE")
    site = create_site(name=SITE_NAME, origins=[ORIGIN])
    now = datetime.now(UTC)
    everyone = Visitors(site.id, site.key, ORIGIN, 0, visitors, decisions)
    jobs = [
        Job((part,), now - timedelta(days=180), now - timedelta(days=150), now)
        for part in everyone.split(math.ceil(visitors / CHUNK))
    ]
    copy_in(jobs)
    return site


LUA_COMMON = """
local visitors = %(visitors)d
local id_span = %(id_span)d
local pause_ms = tonumber(os.getenv("BENCH_PAUSE_MS") or "0")
threads_made = 0

function consent_id(i)
  return string.format("%%08x-0000-4000-8000-%%012x", i, i)
end

function setup(thread)
  -- Runs in wrk's main Lua state; each thread gets its own number, hence its own random ids.
  threads_made = threads_made + 1
  thread:set("thread_no", threads_made)
end

function init(args)
  math.randomseed(os.time() * 100 + thread_no)
end

if pause_ms > 0 then
  -- Paced runs: each connection waits about pause_ms (uniform 0.5x-1.5x) between requests.
  function delay()
    return pause_ms * (0.5 + math.random())
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests": %%d, "seconds": %%f, "non2xx": %%d, "errors": %%d, ' ..
    '"p50_ms": %%f, "p99_ms": %%f, "mean_ms": %%f}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
"""

LUA_HEALTH = """
request = function()
  return wrk.format("GET", "/healthz")
end
"""

LUA_CHECK = """
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  local i = math.random(0, visitors - 1)
  return wrk.format("GET", "/api/v1/sites/%(site)s/consents/" .. consent_id(i) .. "/categories/analytics")
end
"""

LUA_RECORD = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = "%(origin)s"
wrk.headers["User-Agent"] = "Mozilla/5.0 (bench)"
local bodies = {
  '"action": "accept_all"',
  '"action": "reject_all"',
  '"action": "custom", "categories": {"analytics": true, "marketing": false}',
}
request = function()
  -- Ids below `visitors` are loaded visitors changing their mind; the rest are new visitors.
  -- Each id has its own visitor token, as its browser would: a loaded visitor's first post claims
  -- it, a new visitor's first decision stores it.
  local i = math.random(0, id_span - 1)
  local id = consent_id(i)
  local body = '{"consent_id": "' .. id .. '", "token": "bench-' .. id .. '", ' .. bodies[math.random(1, 3)] ..
    ', "policy_version": 1, "language": "en", "url": "%(origin)s/shop"}'
  return wrk.format(nil, "/api/v1/sites/%(site)s/consents", nil, body)
end
"""


class Server:
    """gunicorn with the bench settings; stopped (and its workers with it) on exit."""

    master = 0

    def __init__(self, args, database_url: str):
        self.args = args
        self.env = dict(
            os.environ,
            DATABASE_URL=database_url,
            REDIS_URL=args.redis,
            SECRET_KEY=SECRET_KEY,
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1",
            CMP_PUBLIC_RATE=PUBLIC_RATE,
            GUNICORN_WORKERS=str(args.workers),
            GUNICORN_THREADS=str(args.threads),
        )
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "cmp_site.wsgi",
                "-c",
                str(ROOT / "cmp_site/gunicorn.conf.py"),
                "-b",
                f"127.0.0.1:{self.args.port}",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(tempfile.gettempdir()) / "cmp_bench_gunicorn.log", "w"),  # noqa: SIM115
        )
        Server.master = self.process.pid
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.args.port}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise SystemExit("gunicorn did not answer /healthz within 30 s (see /tmp/cmp_bench_gunicorn.log)")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def workers_cpu_seconds(master: int) -> float:
    """CPU time (user + system) used so far by the gunicorn master's worker processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    total = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def wrk(url: str, script: str, seconds: int, connections: int, pause_ms: int = 0) -> dict:
    """One wrk run; its done() prints the figures as JSON. Adds the workers' CPU per request,
    which depends far less than the rates on what else the machine is doing."""
    cpu_before = workers_cpu_seconds(Server.master)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", handle.name, url],
            capture_output=True,
            text=True,
            env=dict(os.environ, BENCH_PAUSE_MS=str(pause_ms)),
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    figures = json.loads(line[len("BENCH ") :])
    figures["rps"] = figures["requests"] / figures["seconds"]
    figures["cpu_ms"] = (workers_cpu_seconds(Server.master) - cpu_before) * 1000 / max(figures["requests"], 1)
    return figures


def paced(url: str, script: str, seconds: int, target_rps: float, connections: int, latency_ms: float) -> dict:
    """A run paced to about target_rps: each connection pauses between requests; one short
    calibration run corrects the pause for the server's own latency."""
    pause = max(1.0, connections * 1000 / target_rps - latency_ms)
    trial = wrk(url, script, 5, connections, pause)
    pause = max(1.0, pause * trial["rps"] / target_rps)
    figures = wrk(url, script, seconds, connections, pause)
    figures["target_rps"] = target_rps
    return figures


def warm_states(site, visitors: int) -> None:
    """Every loaded visitor's state into the cache, through the service's batch check."""
    from consent.services.checks import MAX_BATCH, check_many
    from consent.services.sites import site_snapshot

    snapshot = site_snapshot(site.key)
    for start in range(0, visitors, MAX_BATCH):
        ids = [uuid.UUID(consent_uuid(i)) for i in range(start, min(start + MAX_BATCH, visitors))]
        check_many(snapshot, ids, ["analytics"])


def main() -> int:
    args = parse_args()
    database_url = f"{args.pg}/{DB_NAME}"
    create_database(args.pg)
    setup_django(database_url, args.redis)
    import redis
    from django.core.management import call_command

    from consent.services.sites import create_api_key

    call_command("migrate", verbosity=0)
    site = loaded(args.decisions) if args.reuse else None
    started = time.monotonic()
    if site is None:
        site = load(args.decisions, args.visitors)
        print(
            f"loaded {args.decisions:,} decisions of {args.visitors:,} visitors in {time.monotonic() - started:.0f} s"
        )
    _, token = create_api_key(site=site, name=f"bench {datetime.now(UTC):%H:%M:%S}")
    cache_db = redis.Redis.from_url(args.redis)
    cache_db.flushdb()

    base = f"http://127.0.0.1:{args.port}"
    values = {
        "visitors": args.visitors,
        "id_span": 2 * args.visitors,
        "site": site.key,
        "token": token,
        "origin": ORIGIN,
    }
    lua = {name: (LUA_COMMON + body) % values for name, body in [("health", LUA_HEALTH), ("check", LUA_CHECK)]}
    lua["record"] = (LUA_COMMON + LUA_RECORD) % values
    rows = []
    c, d = args.connections, args.duration
    load_before = os.getloadavg()[0]
    with Server(args, database_url):
        wrk(base, lua["health"], 3, c)  # warm up the workers and their connections
        if args.only in (None, "check"):
            # Cold: each visitor's first check reads the database (the keys added count the misses,
            # once one request has cached the site and the key).
            never_loaded = consent_uuid(2 * args.visitors)
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{base}/api/v1/sites/{site.key}/consents/{never_loaded}/categories/analytics",
                    headers={"Authorization": f"Bearer {token}"},
                ),
                timeout=10,
            ).close()
            keys = cache_db.dbsize()
            cold = wrk(base, lua["check"], d, c)
            cold["misses"] = cache_db.dbsize() - keys
            started = time.monotonic()
            warm_states(site, args.visitors)
            print(f"cached the states of {args.visitors:,} visitors in {time.monotonic() - started:.0f} s")
            health = wrk(base, lua["health"], d, c)
            check = wrk(base, lua["check"], d, c)
            half = paced(base, lua["check"], d, check["rps"] / 2, c, check["mean_ms"])
            rows += [
                ("GET /healthz (baseline)", health),
                ("GET check, cached", check),
                ("GET check, cached, half", half),
                ("GET check, first (cold)", cold),
            ]
        if args.only in (None, "record"):
            record = wrk(base, lua["record"], d, c)
            half_record = paced(base, lua["record"], d, record["rps"] / 2, c, record["mean_ms"])
            rows += [("POST decision", record), ("POST decision, half", half_record)]
    print_table(rows, args)
    # Other work on the machine slows both the server and wrk: say how busy it was.
    print(f"load average (1 min) before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


def print_table(rows: list, args) -> None:
    print(
        f"\ngunicorn {args.workers} workers x {args.threads} threads, wrk 2 threads {args.connections} connections, "
        f"{args.duration} s per run, {args.decisions:,} decisions of {args.visitors:,} visitors loaded"
    )
    print(f"{'run':26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms':>7} {'non-2xx':>8} {'errors':>7}  note")
    by_name = {}
    for name, f in rows:
        by_name[name] = f
        note = f"paced to {f['target_rps']:.0f}/s" if "target_rps" in f else ""
        if "misses" in f:
            note = f"{f['misses'] / max(f['requests'], 1):.0%} cache misses"
        print(
            f"{name:26} {f['rps']:8.0f} {f['p50_ms']:8.2f} {f['p99_ms']:8.2f} {f['cpu_ms']:7.2f} {f['non2xx']:8d} "
            f"{f['errors']:7d}  {note}"
        )
    if "GET check, cached" in by_name:
        ratio = by_name["GET check, cached"]["rps"] / by_name["GET /healthz (baseline)"]["rps"]
        half = by_name["GET check, cached, half"]
        print(f"check / baseline throughput: {ratio:.0%} (target >= 70%)")
        cpu_check, cpu_health = by_name["GET check, cached"]["cpu_ms"], by_name["GET /healthz (baseline)"]["cpu_ms"]
        print(
            f"app CPU per request: check {cpu_check:.2f} ms, baseline {cpu_health:.2f} ms "
            f"(baseline / check: {cpu_health / max(cpu_check, 1e-9):.0%})"
        )
        print(f"check p99 at {half['rps']:.0f} req/s (half of its peak): {half['p99_ms']:.2f} ms (target < 20 ms)")
    if "POST decision" in by_name:
        decision = by_name["POST decision"]
        print(
            f"decisions recorded: {decision['rps']:.0f}/s (target >= 1000/s); app CPU {decision['cpu_ms']:.2f} ms "
            f"per decision: two idle cores would allow {2000 / max(decision['cpu_ms'], 1e-9):.0f}/s for the app alone"
        )


if __name__ == "__main__":
    sys.exit(main())
