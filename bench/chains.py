"""Decisions with valid hash chains, loaded in bulk with COPY: the benchmarks' one loader
(bench/check_api.py, bench/scale.py).

Each visitor's records are chained and hashed as record_decision would (records.chained_history),
and their current state written beside them, so that the check answers from them and verify_site
finds them intact. Two processes generate and hash the rows while COPY streams them into
PostgreSQL; the tables' plain indexes and unique constraints are dropped during the COPY and built
once after it (the decision log's are per partition: built on every partition).
"""

import io
import json
import math
import multiprocessing
import random
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

RECORD_COLUMNS = (
    "site_id, consent_id, categories, action, source, policy_version, language, url, user_agent, "
    "ip_address, country, created_at, prev_hash, hash"
)
STATE_COLUMNS = (
    "site_id, consent_id, categories, action, source, policy_version, decided_at, first_decided_at, "
    "record_count, head_hash, token_hash"
)
CHOICES = [
    ("accept_all", {}),
    ("reject_all", {}),
    ("custom", {"analytics": True, "marketing": False}),
    ("custom", {"preferences": True, "analytics": False}),
]
# Where visitors are (empty: unknown), and the language most of them read there.
COUNTRIES = ("DE", "FR", "ES", "GB", "US", "AT", "NL", "IT", "")
LANGUAGE_IN = {"DE": "de", "AT": "de", "FR": "fr", "ES": "es"}
PATHS = ("/", "/products/garden-chair-4812", "/blog/2026/how-we-ship?utm_source=newsletter", "/cart", "/help/returns")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
    "Safari/537.36",
)
# Odd, so that i -> i * SCRAMBLE mod 2**32 is a bijection whose order looks random.
SCRAMBLE = 0x9E3779B1


def consent_uuid(i: int, *, scrambled: bool = False) -> str:
    """The id of visitor i (i < 2**32). Plain ids follow i (bench/check_api.py's wrk scripts build
    them with the same formula); scrambled ones are spread over the id space, as uuid4s are, so that
    a table's index is not filled in order."""
    if scrambled:
        i = i * SCRAMBLE % 2**32
    return f"{i:08x}-0000-4000-8000-{i:012x}"


@dataclass(frozen=True)
class Visitors:
    """Visitors start..stop-1 of one site and their decisions in all: each makes decisions // count
    of them, and the first decisions % count one more (they changed their mind once more)."""

    site_id: int
    site_key: str
    origin: str
    start: int
    stop: int
    decisions: int

    def split(self, parts: int) -> list["Visitors"]:
        """The same visitors and decisions in `parts` consecutive slices."""
        count = self.stop - self.start
        per, extra = divmod(self.decisions, count)
        size = math.ceil(count / parts)
        slices = []
        for lo in range(self.start, self.stop, size):
            hi = min(lo + size, self.stop)
            more = min(max(extra - (lo - self.start), 0), hi - lo)
            slices.append(replace(self, start=lo, stop=hi, decisions=per * (hi - lo) + more))
        return slices


@dataclass(frozen=True)
class Job:
    """What one generating process makes at a time: visitors of one site or several, each visitor's
    first decision in [first_from, first_until), each later one 1 to 40 days after the one before
    and before `until`. The records come out in time order, the sites' interleaved."""

    visitors: tuple[Visitors, ...]
    first_from: datetime
    first_until: datetime
    until: datetime
    scrambled: bool = False


def generate(job: Job) -> tuple[str, str]:
    """COPY text of the job's records and states, each chain hashed as the service hashes it."""
    from consent.models import BUILTIN_CATEGORIES
    from consent.services.records import chained_history

    first = job.visitors[0]
    rng = random.Random(f"{first.site_id}:{first.start}")
    span = int((job.first_until - job.first_from).total_seconds())
    records, states = [], io.StringIO()
    for group in job.visitors:
        per, extra = divmod(group.decisions, group.stop - group.start)
        for i in range(group.start, group.stop):
            at = job.first_from + timedelta(seconds=rng.randrange(span))
            decisions = []
            for _ in range(per + (i - group.start < extra)):
                action, choices = rng.choice(CHOICES)
                country = rng.choice(COUNTRIES)
                categories = {key: action == "accept_all" or choices.get(key, False) for key in BUILTIN_CATEGORIES}
                categories["authentication"] = True
                decisions.append(
                    {"categories": categories, "action": action, "source": "banner", "policy_version": 1,
                     "language": LANGUAGE_IN.get(country, "en") if rng.random() < 0.9 else "en",
                     "url": group.origin + rng.choice(PATHS),
                     "user_agent": rng.choice(USER_AGENTS),
                     "ip_address": f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.0",
                     "country": country, "created_at": at}
                )  # fmt: skip
                later = at + timedelta(days=rng.randrange(1, 40), seconds=rng.randrange(86400))
                at = later if later < job.until else at + (job.until - at) * rng.random()
            consent_id = consent_uuid(i, scrambled=job.scrambled)
            chain, state = chained_history(group.site_id, group.site_key, consent_id, decisions)
            for r in chain:
                line = (
                    f"{group.site_id}\t{consent_id}\t{json.dumps(r.categories)}\t{r.action}\tbanner\t1\t{r.language}\t"
                    f"{r.url}\t{r.user_agent}\t{r.ip_address}\t{r.country}\t{r.created_at.isoformat()}\t"
                    f"{r.prev_hash}\t{r.hash}\n"
                )
                records.append((r.created_at, line))
            states.write(
                f"{group.site_id}\t{consent_id}\t{json.dumps(state.categories)}\t{state.action}\tbanner\t1\t"
                f"{state.decided_at.isoformat()}\t{state.first_decided_at.isoformat()}\t{state.record_count}\t"
                f"{state.head_hash}\t\n"
            )
    # A visitor's records keep their order (each is later than the one before): ids follow the chain.
    records.sort(key=lambda pair: pair[0])
    return "".join(line for _, line in records), states.getvalue()


def _generated(pool, jobs: list[Job], ahead: int):
    """The jobs' rows in order, at most `ahead` jobs generated before COPY has taken them."""
    pending = deque()
    for job in jobs:
        pending.append(pool.apply_async(generate, (job,)))
        if len(pending) >= ahead:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def copy_in(jobs: list[Job], *, processes: int = 2, jobs_per_copy: int = 20, bulk: bool = True) -> dict[str, float]:
    """COPY the jobs' records and states (the states on a second connection, beside the records).
    Each `jobs_per_copy` jobs commit, which bounds the deferred foreign-key checks a transaction
    keeps. `bulk`, for loads that are most of the tables: the plain indexes and unique constraints
    dropped during the COPY and built after it, then ANALYZE. Returns the seconds of each step."""
    from django.db import connection, connections

    from consent.models import ConsentRecord, ConsentState

    tables = [m._meta.db_table for m in (ConsentRecord, ConsentState)]
    started = time.perf_counter()
    connections.close_all()  # the workers are forked: they must not share the parent's connection
    with multiprocessing.get_context("fork").Pool(processes) as pool, connection.cursor() as cursor:
        # The partitioned log's indexes read "ON ONLY" the parent: built again without it, they are
        # built on every partition.
        cursor.execute(
            "SELECT replace(indexdef, ' ON ONLY ', ' ON '), indexname FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [tables],
        )
        indexes = cursor.fetchall() if bulk else []
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = ANY(%s::regclass[]) AND contype = 'u'",
            [tables],
        )
        uniques = cursor.fetchall() if bulk else []
        for _, name in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for table, name, _ in uniques:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        states_connection = connection.get_new_connection(connection.get_connection_params())
        states_connection.autocommit = True
        try:
            generated = _generated(pool, jobs, ahead=2 * processes)
            for first in range(0, len(jobs), jobs_per_copy):
                with (
                    cursor.copy(f"COPY {tables[0]} ({RECORD_COLUMNS}) FROM STDIN") as records,
                    states_connection.cursor().copy(f"COPY {tables[1]} ({STATE_COLUMNS}) FROM STDIN") as states,
                ):
                    for _ in jobs[first : first + jobs_per_copy]:
                        record_rows, state_rows = next(generated)
                        records.write(record_rows)
                        states.write(state_rows)
        finally:
            states_connection.close()
            copied = time.perf_counter()
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for definition, _ in indexes:
                cursor.execute(definition)
            for table, name, definition in uniques:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        indexed = time.perf_counter()
        if bulk:
            cursor.execute(f"ANALYZE {tables[0]}; ANALYZE {tables[1]}")
    return {"copy": copied - started, "indexes": indexed - copied, "analyze": time.perf_counter() - indexed}
