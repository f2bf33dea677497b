"""Benchmark of the privacy lifecycle on PostgreSQL: sealing and verifying the proof, purging in
batches, the webhook outbox's cost on recording, and webhook delivery.

What it does, in one run:
  1. recreates the PostgreSQL database `cmp_bench_life`, migrates it and creates a site;
  2. loads VISITORS x 4 chained decision records (half of the visitors older than the retention
     period) and times `seal_site` and `verify_site` over all of them;
  3. times `purge` in batches of 500 records and `verify_site` again (every gap explained);
  4. times `record_decision` without and with a webhook endpoint (the outbox row), median of 300;
  5. times `deliver_due` sending 300 events to a local HTTP receiver on 127.0.0.1 (port 8400).

    .venv/bin/python bench/lifecycle.py                   # a few minutes on two cores
    .venv/bin/python bench/lifecycle.py --visitors 50000

Needs PostgreSQL on 127.0.0.1 (as for the tests).
"""

import argparse
import statistics
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from project import setup_django  # bench/project.py

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "cmp_bench_life"
PG = "postgres://postgres@127.0.0.1:5432"
RECEIVER_PORT = 8400


def setup_database() -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-qc", f"DROP DATABASE IF EXISTS {DB_NAME}"], check=True)
    subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {DB_NAME}"], check=True)
    # Its webhook receiver listens on 127.0.0.1, which production refuses by default.
    setup_django(f"{PG}/{DB_NAME}", migrate=True, CMP_WEBHOOKS_ALLOW_PRIVATE="1")


def load(site, visitors: int) -> None:
    from django.utils import timezone

    from consent.models import ConsentRecord, ConsentState
    from consent.services.records import chained_history

    now = timezone.now()
    for start in range(0, visitors, 5000):
        records, states = [], []
        for n in range(start, min(visitors, start + 5000)):
            decided = now - timedelta(days=4 * 365 if n % 2 else 30, seconds=n)
            decisions = [
                {
                    "categories": {"authentication": True, "analytics": bool(k % 2), "marketing": k == 3},
                    "action": "custom",
                    "source": "banner",
                    "policy_version": 1,
                    "created_at": decided + timedelta(seconds=k),
                    "user_agent": "Mozilla/5.0 bench",
                }
                for k in range(4)
            ]
            visitor_records, state = chained_history(site.id, site.key, uuid.uuid4(), decisions)
            records += visitor_records
            states.append(state)
        ConsentRecord.objects.bulk_create(records, batch_size=5000)
        ConsentState.objects.bulk_create(states, batch_size=5000)


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


class Ok(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=10_000)
    args = parser.parse_args()
    setup_database()
    from consent.models import WebhookDelivery
    from consent.services.proof import seal_site, verify_site
    from consent.services.records import record_decision
    from consent.services.retention import purge
    from consent.services.sites import create_site, site_snapshot
    from consent.services.webhooks import create_endpoint, deliver_due

    site = create_site(name="Bench", origins=["https://bench.example"])
    _, seconds = timed(load, site, args.visitors)
    records = args.visitors * 4
    print(f"loaded {records:,} chained records of {args.visitors:,} visitors in {seconds:.1f} s")

    checkpoint, seconds = timed(seal_site, site, settle_seconds=0)
    print(f"seal_site: {checkpoint.record_count:,} records in {seconds:.2f} s ({records / seconds:,.0f} records/s)")
    report, seconds = timed(verify_site, site)
    assert report.intact, report.broken
    print(f"verify_site: {report.records:,} records, 1 checkpoint in {seconds:.2f} s ({records / seconds:,.0f}/s)")

    report, seconds = timed(purge, batch_size=500)
    print(
        f"purge: {report.records:,} records of {report.visitors:,} visitors in {report.batches} batches, "
        f"{seconds:.1f} s ({report.records / seconds:,.0f} records/s, {seconds / report.batches * 1000:.0f} ms a batch)"
    )
    again, seconds = timed(purge, batch_size=500)
    print(f"purge again: {again.records} records in {seconds:.2f} s")
    proof, seconds = timed(verify_site, site)
    assert proof.intact, proof.broken
    print(f"verify_site after purge: {proof.records:,} records, {proof.erased_records:,} erased links, {seconds:.2f} s")

    snapshot = site_snapshot(site.key)

    def decisions(count: int) -> list[float]:
        durations = []
        for _ in range(count):
            _, seconds = timed(record_decision, site=snapshot, action="accept_all", policy_version=1)
            durations.append(seconds * 1000)
        return durations

    without = decisions(300)
    server = ThreadingHTTPServer(("127.0.0.1", RECEIVER_PORT), Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        create_endpoint(site=site, url=f"http://127.0.0.1:{RECEIVER_PORT}/hook")
        with_hook = decisions(300)
        print(
            f"record_decision median: {statistics.median(without):.2f} ms without a webhook, "
            f"{statistics.median(with_hook):.2f} ms with one (outbox row in the same transaction)"
        )
        pending = WebhookDelivery.objects.filter(status="pending").count()
        report, seconds = timed(deliver_due, limit=pending)
        print(
            f"deliver_due: {report.delivered} of {pending} delivered in {seconds:.2f} s "
            f"({report.delivered / seconds:,.0f}/s)"
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


if __name__ == "__main__":
    main()
