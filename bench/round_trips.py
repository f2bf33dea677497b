"""Round trips per request on the hot paths: PostgreSQL queries and Redis calls, counted, not timed.

Counts are the same on a busy machine and a quiet one, so they show what a change costs where the
rates of `bench/check_api.py` move with other people's work. In one process, through Django's test
client (the whole middleware stack, as gunicorn runs it), against PostgreSQL (database
`cmp_round_trips`, made and dropped) and Redis (db 6, emptied):

    .venv/bin/python bench/round_trips.py            # 200 requests of each kind
    .venv/bin/python bench/round_trips.py --requests 1000

A Redis pipeline or Lua script is one round trip. Also prints the process's CPU time per request,
which is indicative only (it includes the test client's own work).
"""

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "cmp_round_trips"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server, no db name")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--requests", type=int, default=200)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    try:
        return measure(args)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def setup(args) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(
        DATABASE_URL=f"{args.pg}/{DB_NAME}",
        REDIS_URL=args.redis,
        DJANGO_SETTINGS_MODULE="cmp_site.settings",
        CMP_PUBLIC_RATE="100000000/min",
        ALLOWED_HOSTS="testserver",
        SECRET_KEY="round-trips-" + uuid.uuid4().hex,
    )
    import django

    django.setup()


class RedisCounter:
    """Counts the calls that leave for Redis: one per command, pipeline or script."""

    def __init__(self):
        import redis.client

        self.calls = 0
        counter = self
        for cls, name in ((redis.client.Redis, "execute_command"), (redis.client.Pipeline, "execute")):
            original = getattr(cls, name)

            def counted(self, *a, __original=original, **kw):
                if not (isinstance(self, redis.client.Pipeline) and __original.__name__ == "execute_command"):
                    counter.calls += 1
                return __original(self, *a, **kw)

            setattr(cls, name, counted)


def measure(args) -> int:
    setup(args)
    import redis
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from consent.services.sites import create_api_key, create_site

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(args.redis).flushdb()
    site = create_site(name="Bench", origins=["https://shop.example"])
    _, token = create_api_key(site=site)
    counter = RedisCounter()
    browser = Client(HTTP_ORIGIN="https://shop.example")
    backend = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    # One client per kind of caller, as gunicorn keeps its middleware loaded: a new test client
    # would load (and WhiteNoise scan) the whole middleware stack on every request.
    anonymous = Client()
    base = f"/api/v1/sites/{site.key}"
    visitors = [str(uuid.uuid4()) for _ in range(args.requests)]

    def decide(visitor):
        body = {"action": "accept_all", "policy_version": 1, "consent_id": visitor, "token": f"bench-{visitor}"}
        response = browser.post(f"{base}/consents", body, content_type="application/json")
        assert response.status_code == 201, response.content

    def check(visitor):
        response = backend.get(f"{base}/consents/{visitor}/categories/analytics")
        assert response.status_code == 200, response.content

    runs = [
        ("GET /healthz", lambda v: anonymous.get("/healthz")),
        ("POST decision, new visitor", decide),
        ("GET check, first after the decision", check),
        ("GET check, cached", check),
        ("POST decision, returning visitor", decide),
        ("GET banner config", lambda v: anonymous.get(f"{base}/config")),
    ]
    for _, run in runs[:3]:  # warm up: connections, the epoch, the site and the key in the cache
        run(str(uuid.uuid4()))
    print(f"{args.requests} requests each, PostgreSQL + Redis, in-process")
    print(f"{'request':38} {'PostgreSQL':>10} {'Redis':>6} {'CPU ms':>7}")
    for name, run in runs:
        redis_before = counter.calls
        cpu = time.process_time()
        with CaptureQueriesContext(connection) as queries:
            for visitor in visitors:
                run(visitor)
        cpu_ms = (time.process_time() - cpu) * 1000 / args.requests
        pg = len(queries.captured_queries) / args.requests
        print(f"{name:38} {pg:>10.2f} {(counter.calls - redis_before) / args.requests:>6.2f} {cpu_ms:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
