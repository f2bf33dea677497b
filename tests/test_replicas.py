"""Read replicas (consent.replicas), against a real one: a hot standby of the suite's PostgreSQL
server that these tests make with pg_basebackup and start on a port of its own. Being a copy of the
whole cluster, it holds the suite's test database, which it keeps replaying from the primary.

The heavy reads (figures, history, export, verification) come from it once it has replayed what
they need; the check and every write never do; a replica that lags or is down leaves the heavy
reads to the primary, and each process says so once, and once when it is back."""

import copy
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent import replicas
from consent.models import ConsentState
from consent.selectors.figures import consent_figures, interaction_rates
from consent.selectors.visitors import export_visitor, history
from consent.services.proof import verify_site
from consent.services.sites import site_snapshot
from tests.deployment import ROOT, free_port, suite_uses_postgresql
from tests.factories import decide, make_site

REPLICA = "replica_1"
DEADLINE = 60  # seconds any awaited condition gets, on a busy machine
# What the heavy reads read, and the check and the writes need not.
HEAVY_TABLES = [
    f"consent_{name}"
    for name in ("consentrecord", "dailyconsentstat", "dailyimpressions", "proofcheckpoint", "shownconfiguration")
]

on_a_replica = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


def wait_for(condition, what: str):
    deadline = time.monotonic() + DEADLINE
    while not (found := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"Still waiting, after {DEADLINE} s, for {what}.")
        time.sleep(0.05)
    return found


def as_postgres(*command: str) -> subprocess.CompletedProcess:
    """PostgreSQL's server refuses to run as root: as root, its commands run as the postgres user."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *command], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=DEADLINE * 2
    )


class Replica:
    """A hot standby streaming from the suite's server, in a directory of its own."""

    def __init__(self, primary: dict, workdir: Path):
        self.primary = {"host": primary["HOST"] or "127.0.0.1", "port": primary["PORT"] or 5432}
        self.user = primary["USER"] or "postgres"
        self.dbname = primary["NAME"]  # the test database, replicated with the rest
        self.workdir = workdir
        self.data = workdir / "data"
        self.port = free_port()
        self.bin = self._binaries()

    def _binaries(self) -> Path:
        major = int(self.primary_sql("SHOW server_version_num")[0]) // 10000
        for bindir in (Path(f"/usr/lib/postgresql/{major}/bin"), Path(shutil.which("pg_ctl") or "/").parent):
            if (bindir / "pg_basebackup").exists() and (bindir / "pg_ctl").exists():
                return bindir
        pytest.skip(f"needs PostgreSQL {major}'s pg_basebackup and pg_ctl on this machine")

    def primary_sql(self, query: str, *params):
        with psycopg.connect(**self.primary, user=self.user, dbname=self.dbname, autocommit=True) as db:
            return db.execute(query, params).fetchone()

    def sql(self, query: str, *params):
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname=self.dbname, autocommit=True
        ) as db:
            return db.execute(query, params).fetchone()

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        host, port = self.primary["host"], str(self.primary["port"])
        copied = as_postgres(
            str(self.bin / "pg_basebackup"), "-h", host, "-p", port, "-U", self.user, "-D", str(self.data),
            "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
        )  # fmt: skip
        if copied.returncode:
            pytest.fail(
                f"pg_basebackup failed: {copied.stderr.strip()}\n"
                "The primary must let this user replicate from 127.0.0.1: `make services` sets that up."
            )
        conf = {
            "port": self.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.workdir}'",
            "hot_standby": "on",
            "fsync": "off",
            "shared_buffers": "'16MB'",
        }
        # A standby needs at least the primary's slots of each kind.
        for name in ("max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
                     "max_locks_per_transaction"):  # fmt: skip
            conf[name] = self.primary_sql(f"SHOW {name}")[0]
        # On Debian the primary's configuration lives outside its data directory: a standby of its
        # own either way.
        (self.data / "postgresql.conf").write_text("".join(f"{k} = {v}\n" for k, v in conf.items()))
        (self.data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        (self.data / "pg_ident.conf").write_text("")
        if os.geteuid() == 0:
            for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
                shutil.chown(self.data / name, "postgres", "postgres")

    def start(self) -> None:
        started = as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.workdir / "log"), "-w", "-t", "120", "start"
        )
        if started.returncode:
            log = (self.workdir / "log").read_text() if (self.workdir / "log").exists() else ""
            pytest.fail(f"The replica did not start: {started.stdout}{started.stderr}\n{log[-2000:]}")
        wait_for(self.answers, "the replica to accept connections")

    def stop(self, mode: str = "fast") -> None:
        as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "status").returncode == 0

    def answers(self) -> bool:
        try:
            return self.sql("SELECT pg_is_in_recovery()")[0]
        except psycopg.OperationalError:
            return False

    def catch_up(self) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        (written,) = self.primary_sql("SELECT pg_current_wal_lsn()::text")
        wait_for(lambda: self.sql("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", written)[0], "the replay")

    def pause(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")
        wait_for(lambda: self.sql("SELECT pg_get_wal_replay_pause_state()")[0] == "paused", "the replay to pause")

    def resume(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def replica(django_db_setup):
    """The standby, made once the test database exists, and the `replica_1` alias on that database
    there, as DATABASE_REPLICA_URLS makes it: added to the aliases Django's connection handler knows
    (`connections.settings`) for these tests alone, as a test mirror of the primary, so that the test
    runner neither creates nor flushes a database on it."""
    if not suite_uses_postgresql():
        pytest.skip("PostgreSQL only: a streaming replica of the suite's server")
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    workdir = Path(tempfile.mkdtemp(prefix="cmp-replica-"))
    standby = None
    try:
        standby = Replica(primary, workdir)
        standby.create()
        standby.start()
        alias = copy.deepcopy(primary)
        alias.update(HOST="127.0.0.1", PORT=standby.port, TEST={**alias["TEST"], "MIRROR": DEFAULT_DB_ALIAS})
        alias.setdefault("OPTIONS", {})["connect_timeout"] = 2
        connections.settings[REPLICA] = alias
        yield standby
    finally:
        if REPLICA in connections.settings:
            connections[REPLICA].close()
            del connections[REPLICA]
            del connections.settings[REPLICA]
        if standby is not None and standby.data.exists():
            standby.stop("immediate")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def replicated(replica, settings, monkeypatch):
    """Heavy reads may go to the replica, which each call checks anew; it starts running, caught up."""
    settings.CMP_READ_REPLICAS = [REPLICA]
    settings.CMP_REPLICA_MAX_LAG_SECONDS = 30
    monkeypatch.setattr(replicas, "CHECK_SECONDS", 0)
    monkeypatch.setattr(replicas, "_health", {})
    if not replica.running():
        replica.start()
    replica.resume()
    replica.catch_up()
    return replica


def logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "consent.replicas"]


def decisions_today(site) -> int:
    today = timezone.now().date()
    return sum(row.decisions for row in consent_figures(site=site, start=today, end=today).rates)


@on_a_replica
def test_heavy_reads_come_from_the_replica_once_it_has_replayed_what_they_read(replicated):
    site = make_site()
    visitor = decide(site, "accept_all").consent_id
    replicated.catch_up()
    today = timezone.now().date()
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        figures = consent_figures(site=site, start=today, end=today)
        interaction = interaction_rates(site=site, start=today, end=today)
        records = history(site_snapshot(site.key), visitor)
        export = export_visitor(site_snapshot(site.key), visitor)
        proof = verify_site(site)
    assert figures.rates[0].decisions == 1 and interaction[0].decisions == 1
    assert [r["action"] for r in records] == [r["action"] for r in export["records"]] == ["accept_all"]
    assert proof.intact and proof.records == 1
    # The primary was only asked where its WAL is (the lag check), where the visitor's records end
    # (history and export make sure the replica has them all) and the export's current consent.
    on_the_replica = " ".join(query["sql"] for query in on_replica.captured_queries)
    on_the_primary = " ".join(query["sql"] for query in on_primary.captured_queries)
    for table in HEAVY_TABLES:
        assert table in on_the_replica and table not in on_the_primary, table
    assert "pg_current_wal_lsn" in on_the_primary

    # Within the lag allowed, the replica answers with what it has replayed: a new decision is
    # not counted until it has.
    replicated.pause()
    decide(site, "reject_all")
    assert decisions_today(site) == 1
    replicated.resume()
    replicated.catch_up()
    assert decisions_today(site) == 2


@on_a_replica
def test_the_check_after_a_withdrawal_never_comes_from_a_replica_that_has_not_replayed_it(api, replicated):
    from django.core.cache import cache

    visitor = api.decide(action="accept_all")["consent_id"]
    replicated.catch_up()
    replicated.pause()
    api.decide(consent_id=visitor, action="withdraw")
    cache.clear()  # so that the answers come from a database
    check = api.get(f"/consents/{visitor}/categories/analytics")
    batch = api.post("/consents/check", json={"consent_ids": [visitor]}, key=api.key)
    assert check.json() == {"allowed": False, "reason": "withdrawn"}
    assert batch.json()["results"][visitor]["analytics"] is False
    # The replica, usable for heavy reads (it is within the lag allowed), would have said yes.
    assert replicas.heavy_read_alias() == REPLICA
    assert ConsentState.objects.using(REPLICA).get(consent_id=visitor).action == "accept_all"
    # The visitor's history and export hold the withdrawal: the replica has not replayed it, so the
    # primary answers them.
    for path in ("history", "export"):
        records = api.get(f"/consents/{visitor}/{path}").json()["records"]
        assert [r["action"] for r in records] == ["accept_all", "withdraw"], path


@on_a_replica
def test_a_lagging_replica_leaves_heavy_reads_to_the_primary_and_says_so_once(replicated, settings, caplog):
    site = make_site()
    decide(site, "accept_all")
    replicated.catch_up()
    settings.CMP_REPLICA_MAX_LAG_SECONDS = 1
    with caplog.at_level(logging.WARNING, logger="consent.replicas"):
        replicated.pause()
        decide(site, "reject_all")
        wait_for(lambda: replicas.heavy_read_alias() == DEFAULT_DB_ALIAS, "the lag to pass 1 s")
        assert [decisions_today(site) for _ in range(3)] == [2, 2, 2]  # the primary's count
        lagging = logged(caplog)
        assert len(lagging) == 1 and lagging[0].startswith(f"{REPLICA} is ") and " s behind" in lagging[0]
        assert lagging[0].endswith("heavy reads go to the primary.")
        replicated.resume()
        wait_for(lambda: replicas.heavy_read_alias() == REPLICA, "the replica to catch up")
    assert logged(caplog) == [*lagging, f"{REPLICA} is back: heavy reads go to it again."]
    settings.CMP_REPLICA_MAX_LAG_SECONDS = 30
    assert decisions_today(site) == 2


@on_a_replica
def test_a_replica_that_is_down_leaves_heavy_reads_to_the_primary_and_says_so_once(replicated, caplog):
    site = make_site()
    decide(site, "accept_all")
    replicated.catch_up()
    assert replicas.heavy_read_alias() == REPLICA
    replicated.stop("immediate")
    with caplog.at_level(logging.WARNING, logger="consent.replicas"):
        for _ in range(3):
            assert decisions_today(site) == 1
            assert verify_site(site).intact
        down = logged(caplog)
        assert len(down) == 1 and down[0].startswith(f"{REPLICA} is down (")
        replicated.start()
        wait_for(lambda: replicas.heavy_read_alias() == REPLICA, "the replica to be back")
    assert logged(caplog) == [*down, f"{REPLICA} is back: heavy reads go to it again."]


@on_a_replica
def test_a_read_the_replica_fails_runs_again_on_the_primary(replicated, monkeypatch, caplog):
    """A replica can fail a read it was fit for: it went down since it was checked, or its replay
    cancelled the query. The read runs again on the primary, and the replica is checked anew."""
    site = make_site()
    decide(site, "accept_all")
    replicated.catch_up()
    assert decisions_today(site) == 1  # from the replica, which now has a connection of ours
    monkeypatch.setattr(replicas, "CHECK_SECONDS", 3600)
    replicated.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid()"
    )
    with caplog.at_level(logging.WARNING, logger="consent.replicas"):
        assert decisions_today(site) == 1
        monkeypatch.setattr(replicas, "CHECK_SECONDS", 0)
        assert replicas.heavy_read_alias() == REPLICA
    failed, back = logged(caplog)
    assert failed.startswith(f"{REPLICA} failed a read (") and failed.endswith("heavy reads go to the primary.")
    assert back == f"{REPLICA} is back: heavy reads go to it again."


def test_database_replica_urls_make_one_alias_each_mirroring_the_primary_in_tests():
    script = "import json, cmp_site.settings as s; print(json.dumps([s.CMP_READ_REPLICAS, s.DATABASES['replica_2']]))"
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://cmp@db:5432/cmp",
        "DATABASE_REPLICA_URLS": "postgres://cmp@replica-a:5432/cmp, postgres://cmp@replica-b:5432/cmp",
    }
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    aliases, second = json.loads(run.stdout)
    assert aliases == ["replica_1", "replica_2"]
    assert second["HOST"] == "replica-b" and second["TEST"]["MIRROR"] == "default"
    assert second["OPTIONS"] == {"connect_timeout": 2} and second["CONN_HEALTH_CHECKS"] is True
    on_sqlite = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DATABASE_URL": "sqlite:///db.sqlite3"},
        capture_output=True,
        text=True,
    )
    assert "DATABASE_REPLICA_URLS needs PostgreSQL" in on_sqlite.stderr
