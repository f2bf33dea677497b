"""One truth for every process: after a withdrawal, a revocation or a policy publication has
committed, no worker of a real multi-process server answers from what it knew before, without
Redis, with Redis, through a Redis outage and in a check/withdrawal race.

Each server is gunicorn with the shipped configuration and 4 workers, on a database of its own of
the suite's kind (SQLite file or PostgreSQL); changes are made over HTTP or by management
commands in processes of their own, as an operator would make them."""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from consent.api.throttles import PublicRateThrottle
from consent.cache import PAUSE_SECONDS
from tests.deployment import REDIS_DB_URL, Server, Site, TcpProxy

WORKERS = 4
CHECKS = 40


@pytest.fixture(scope="module")
def plain_server(database, workdir):
    server = Server(database, workdir, workers=WORKERS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_server(database, workdir):
    redis.Redis.from_url(REDIS_DB_URL).flushdb()
    server = Server(database, workdir, redis_url=REDIS_DB_URL, workers=WORKERS)
    yield server
    server.stop()


@pytest.fixture(params=["without Redis", "with Redis"])
def server(request):
    return request.getfixturevalue("plain_server" if request.param == "without Redis" else "redis_server")


def from_every_worker(server: Server, ask, *, least: int = WORKERS) -> list:
    """Ask concurrently, over new connections, until `least` workers have answered and at least
    CHECKS answers came."""
    before = len(server.access_lines())
    answers = []
    with ThreadPoolExecutor(8) as pool:
        for _ in range(25):
            answers += list(pool.map(lambda _: ask(), range(16)))
            workers = {line.split()[0] for line in server.access_lines()[before:]}
            if len(workers) >= least and len(answers) >= CHECKS:
                return answers
    raise AssertionError(f"fewer than {least} workers answered {len(answers)} requests")


def allowed_answers(responses) -> list:
    return [r.json() for r in responses if r.status_code != 200 or r.json()["allowed"]]


def test_a_withdrawal_is_seen_by_every_worker(server):
    site = Site(server)
    visitor = site.decide("accept_all")["consent_id"]
    before = from_every_worker(server, lambda: site.check(visitor))
    assert all(r.json() == {"allowed": True, "reason": "granted"} for r in before)
    site.decide("withdraw", visitor)
    after = from_every_worker(server, lambda: site.check(visitor))
    assert allowed_answers(after) == []


def test_a_key_revoked_by_another_process_stops_working_in_every_worker(server):
    site = Site(server)
    visitor = site.decide("accept_all")["consent_id"]
    assert all(r.status_code == 200 for r in from_every_worker(server, lambda: site.check(visitor)))
    server.manage(
        "shell",
        "-c",
        "from consent.models import ApiKey; from consent.services.sites import revoke_api_key; "
        f"revoke_api_key(ApiKey.objects.get(prefix='{site.token[:12]}'))",
    )
    after = from_every_worker(server, lambda: site.check(visitor))
    assert {r.status_code for r in after} == {401}


def test_a_material_policy_published_from_the_command_line_outdates_in_every_worker(server):
    site = Site(server)
    visitor = site.decide("accept_all")["consent_id"]
    assert all(r.json()["allowed"] for r in from_every_worker(server, lambda: site.check(visitor)))
    server.manage("publishpolicy", "--site", site.key, "--material")
    after = from_every_worker(server, lambda: site.check(visitor))
    assert {r.json()["reason"] for r in after} == {"outdated"}
    # And the decision under the new version is taken by every worker.
    site.decide("accept_all", visitor, policy_version=2)
    again = from_every_worker(server, lambda: site.check(visitor))
    assert {r.json()["reason"] for r in again} == {"granted"}


def test_an_erasure_is_seen_by_every_worker(server):
    site = Site(server)
    visitor = site.decide("accept_all")["consent_id"]
    assert all(r.json()["allowed"] for r in from_every_worker(server, lambda: site.check(visitor)))
    erased = requests.delete(f"{site.base}/consents/{visitor}", headers={"Authorization": f"Bearer {site.token}"})
    assert erased.status_code == 200
    after = from_every_worker(server, lambda: site.check(visitor))
    assert {r.json()["reason"] for r in after} == {"no_decision"}


def test_an_origin_removed_by_another_process_is_refused_by_every_worker(server):
    site = Site(server)
    post = lambda: requests.post(  # noqa: E731
        f"{site.base}/consents", json={"action": "accept_all", "policy_version": 1}, headers={"Origin": site.ORIGIN}
    )
    assert {r.status_code for r in from_every_worker(server, post)} == {201}
    server.manage(
        "shell", "-c", f"from consent.models import SiteOrigin; SiteOrigin.objects.get(site__key='{site.key}').delete()"
    )
    after = from_every_worker(server, post)
    assert {r.status_code for r in after} == {403}


def test_no_stale_answer_after_checks_race_withdrawals(server):
    """Each visitor's withdrawal is sent together with checks of that visitor, whose state is
    not cached yet: a check that read the state before the commit must not keep it after."""
    site = Site(server)
    stale = []
    with ThreadPoolExecutor(16) as pool:
        for _ in range(3):
            visitors = site.withdraw_amid_checks(pool, 100)
            answers = list(pool.map(site.check, visitors))
            stale += [answer.json() for answer in answers if answer.json()["allowed"]]
    assert stale == []


def test_a_process_killed_between_its_commit_and_its_cache_delete_leaves_nothing_stale(redis_server):
    site = Site(redis_server)
    visitor = site.decide("accept_all")["consent_id"]
    assert all(r.json()["allowed"] for r in from_every_worker(redis_server, lambda: site.check(visitor)))
    # The first commit hook ends the process: the withdrawal is committed, the delete never runs.
    redis_server.manage(
        "shell",
        "-c",
        "import os, uuid; from django.db import transaction; "
        "from consent.services.records import record_decision; from consent.services.sites import site_snapshot\n"
        "with transaction.atomic():\n"
        "    transaction.on_commit(lambda: os._exit(9))\n"
        f"    record_decision(site=site_snapshot('{site.key}'), action='withdraw', "
        f"consent_id=uuid.UUID('{visitor}'), policy_version=1)",
        returncode=9,
    )
    assert allowed_answers(from_every_worker(redis_server, lambda: site.check(visitor))) == []


def test_concurrent_decisions_all_succeed(server):
    """Many writers at once: SQLite (WAL, immediate transactions, busy timeout) and PostgreSQL
    take them all, none answered 500."""
    site = Site(server)
    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(lambda _: site.decide("accept_all") and 201, range(400)))
    assert statuses == [201] * 400


@pytest.fixture(scope="module")
def redis_proxy():
    proxy = TcpProxy(6379)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def proxied_server(database, workdir, redis_proxy):
    redis.Redis.from_url(REDIS_DB_URL).flushdb()
    server = Server(
        database, workdir, redis_url=REDIS_DB_URL.replace(":6379/", f":{redis_proxy.port}/"), workers=WORKERS
    )
    yield server
    server.stop()


def test_a_redis_outage_never_brings_back_what_was_changed_during_it(proxied_server, redis_proxy):
    server = proxied_server
    site = Site(server)
    second_key = server.manage("createapikey", "--site", site.key, "--name", "second")
    visitor = site.decide("accept_all")["consent_id"]
    # Everything cached in Redis: site, both keys, the visitor's state.
    assert all(r.json()["allowed"] for r in from_every_worker(server, lambda: site.check(visitor)))
    assert all(r.status_code == 200 for r in from_every_worker(server, lambda: site.check(visitor, token=second_key)))
    log_before = server.log.read_text()

    redis_proxy.cut()
    try:
        site.decide("withdraw", visitor)
        server.manage(
            "shell",
            "-c",
            "from consent.models import ApiKey; from consent.services.sites import revoke_api_key; "
            f"revoke_api_key(ApiKey.objects.get(prefix='{second_key[:12]}'))",
        )
        during = from_every_worker(server, lambda: site.check(visitor))
    finally:
        redis_proxy.restore()
    assert allowed_answers(during) == []

    # Redis is back with its old entries: none of them may answer, now or once the workers use it again.
    after, revoked = [], []
    deadline = time.monotonic() + PAUSE_SECONDS * 3
    while time.monotonic() < deadline:
        after += from_every_worker(server, lambda: site.check(visitor))
        revoked += from_every_worker(server, lambda: site.check(visitor, token=second_key))
    assert allowed_answers(after) == []
    assert {r.status_code for r in revoked} == {401}

    # The outage was logged by each worker when it began and when it ended, not per request (the
    # workers answered hundreds meanwhile), and with no traceback. On a busy machine a worker may
    # time out one more call (0.2 s) as Redis comes back: a second short outage, logged as such.
    log = server.log.read_text()[len(log_before) :]
    assert "Traceback" not in log
    assert 1 <= len(re.findall("Redis is unreachable", log)) <= 2 * WORKERS
    assert len(re.findall("Redis is back", log)) <= 2 * WORKERS


@pytest.fixture(scope="module")
def restarting_server(database, workdir):
    # Each worker serves one request and is replaced: every request meets a fresh worker.
    server = Server(database, workdir, workers=2, extra=("--max-requests", "1"))
    yield server
    server.stop()


def test_a_fresh_workers_first_preflight_carries_the_cors_headers(restarting_server):
    site = Site(restarting_server)
    for _ in range(6):
        response = requests.options(
            f"{site.base}/consents",
            headers={
                "Origin": Site.ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
            timeout=30,
        )
        assert response.status_code == 200
        assert response.headers.get("Access-Control-Allow-Origin") == Site.ORIGIN
    assert len(restarting_server.pids_that_served("/consents")) >= 3


def test_the_threaded_server_takes_concurrent_decisions(api, monkeypatch):
    """Django's threaded server (as `runserver` and the live server run it) on the suite's database."""
    monkeypatch.setattr(PublicRateThrottle, "rate", "100000000/min", raising=False)
    with ThreadPoolExecutor(40) as pool:
        responses = list(
            pool.map(lambda _: api.post("/consents", json={"action": "accept_all", "policy_version": 1}), range(400))
        )
    assert [r.status_code for r in responses] == [201] * 400
