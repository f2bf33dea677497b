"""Several app servers behind a load balancer: two gunicorn instances on ports of their own, sharing
one database and Redis, behind HAProxy with the shipped configuration (deploy/haproxy.cfg). Every
answer through the balancer is coherent whichever instance gives it, and when an instance stops,
the health check takes it out while the answers keep coming.

On SQLite both instances share one file, as two instances on one host would: WAL mode lets their
workers read while one writes, and immediate transactions with a busy timeout queue the writers
(docs/operations.md). Instances on several hosts need PostgreSQL."""

import http.client
import json
import re
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from tests.deployment import REDIS_DB_URL, ROOT, Database, Server, Site, free_port

SHIPPED = ROOT / "deploy" / "haproxy.cfg"
WORKERS = 2  # per instance, each with the shipped 4 threads
CHECKS = 4  # per visitor, after each decision
UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
# What the instances need behind the balancer: the Host its health check sends, one trusted proxy.
BEHIND_THE_BALANCER = ("-e", "ALLOWED_HOSTS=127.0.0.1,localhost,cmp.example.com", "-e", "CMP_TRUSTED_PROXY_COUNT=1")

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is not installed (make test-deps)")


def balancer_config(port: int, servers: list[Server], stats_socket: Path) -> str:
    """The shipped configuration listening on `port` in front of `servers`, its global section (chroot,
    user, the system's socket and syslog) replaced by one a process of the test's can use."""
    config, replaced = re.subn(
        r"(?ms)^global\n.*?(?=^\S)",
        f"global\n    log stdout format raw local0\n    stats socket {stats_socket} mode 600 level admin\n\n",
        SHIPPED.read_text(),
    )
    config, bound = re.subn(r"(?m)^    bind \S+$", f"    bind 127.0.0.1:{port}", config)
    shipped_servers = re.findall(r"(?m)^    server .*\n", config)
    assert (replaced, bound, len(shipped_servers)) == (1, 1, 2), "deploy/haproxy.cfg changed shape"
    ours = "".join(f"    server app{n} 127.0.0.1:{server.port}\n" for n, server in enumerate(servers, 1))
    return config.replace(shipped_servers[0], ours).replace(shipped_servers[1], "")


class Balancer:
    """HAProxy in the foreground as a plain process (not the system's service), on a port of its own."""

    def __init__(self, database: Database, workdir: Path):
        self.database = database
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stats_socket = workdir / "haproxy.sock"
        self.log = workdir / "haproxy.log"
        self.process: subprocess.Popen | None = None

    def start(self, servers: list[Server]) -> None:
        config = self.workdir / "haproxy.cfg"
        config.write_text(balancer_config(self.port, servers, self.stats_socket))
        self.process = subprocess.Popen(
            ["haproxy", "-f", str(config), "-db"],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_for(lambda states: set(states.values()) == {"UP"}, "every instance up")

    def states(self) -> dict[str, str]:
        """Each instance's state as the health checks see it: app1 -> UP, DOWN, ..."""
        with socket.socket(socket.AF_UNIX) as stats:
            stats.settimeout(5)
            stats.connect(str(self.stats_socket))
            stats.sendall(b"show stat\n")
            csv = b""
            while chunk := stats.recv(65536):
                csv += chunk
        header, *rows = csv.decode().splitlines()
        columns = header.removeprefix("# ").split(",")
        table = [dict(zip(columns, row.split(","), strict=False)) for row in rows if row]
        return {row["svname"]: row["status"].split()[0] for row in table if row["svname"].startswith("app")}

    def wait_for(self, condition, what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if condition(self.states()):
                    return
            except OSError:
                pass  # the stats socket is not there yet
            time.sleep(0.1)
        raise AssertionError(f"HAProxy never saw {what}:\n{self.log.read_text()}")

    def manage(self, *args: str, returncode: int = 0) -> str:
        """A management command beside the instances (same settings)."""
        return self.database.manage(*args, env={"REDIS_URL": REDIS_DB_URL}, returncode=returncode)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def deployment(database, workdir):
    """Two instances, HAProxy in front of them, and a site whose visitors and backend call through it
    (made while the instances boot); each test has visitors of its own."""
    redis.Redis.from_url(REDIS_DB_URL).flushdb()
    balancer = Balancer(database, workdir)
    start = lambda: Server(  # noqa: E731
        database, workdir, redis_url=REDIS_DB_URL, workers=WORKERS, extra=BEHIND_THE_BALANCER
    )
    with ThreadPoolExecutor(3) as pool:
        making = pool.submit(Site, balancer)
        starting = [pool.submit(start) for _ in range(2)]
    servers = [task.result() for task in starting if task.exception() is None]
    try:
        assert len(servers) == 2, [str(task.exception()) for task in starting]
        balancer.start(servers)
        yield servers, balancer, making.result()
    finally:
        balancer.stop()
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def servers(deployment):
    return deployment[0]


@pytest.fixture(scope="module")
def balancer(deployment):
    return deployment[1]


@pytest.fixture(scope="module")
def site(deployment):
    return deployment[2]


def visit(site: Site) -> list:
    """One visitor, each request on a connection of its own through the balancer: accepts, is checked,
    withdraws, is checked again. The answers that contradict the last decision."""
    visitor = site.decide("accept_all")["consent_id"]
    answers = [("after accepting", site.check(visitor)) for _ in range(CHECKS)]
    site.decide("withdraw", visitor)
    answers += [("after withdrawing", site.check(visitor)) for _ in range(CHECKS)]
    expected = {"after accepting": True, "after withdrawing": False}
    return [
        (when, response.status_code, response.text)
        for when, response in answers
        if response.status_code != 200 or response.json()["allowed"] is not expected[when]
    ]


def visits(site: Site, count: int) -> list:
    with ThreadPoolExecutor(16) as pool:
        return [answer for answers in pool.map(lambda _: visit(site), range(count)) for answer in answers]


def served(server: Server, since: int = 0) -> dict[str, int]:
    """How many decisions and checks this instance answered (its access log, from line `since`)."""
    lines = server.access_lines()[since:]
    return {
        "decisions": sum(" POST " in line and line.split()[2].endswith("/consents") for line in lines),
        "checks": sum("/categories/" in line for line in lines),
    }


def test_the_shipped_configuration_is_valid():
    checked = subprocess.run(["haproxy", "-c", "-f", str(SHIPPED)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_answer_is_coherent_whichever_instance_gives_it(site, servers):
    assert visits(site, 48) == []
    # Both instances took decisions and answered checks, so that many a check was answered by the
    # instance that did not record the decision before it, and they cached in the Redis they share.
    for server in servers:
        counts = served(server)
        assert counts["decisions"] >= 10 and counts["checks"] >= 40, counts
    assert redis.Redis.from_url(REDIS_DB_URL).dbsize() > 0


def test_checks_racing_withdrawals_leave_nothing_stale(site):
    """Each withdrawal is sent together with checks of that visitor, on either instance: a check that
    read the state before the commit must not leave it cached after."""
    with ThreadPoolExecutor(16) as pool:
        visitors = site.withdraw_amid_checks(pool, 60)
        after = [answer for _ in range(2) for answer in pool.map(site.check, visitors)]
    assert [r.json() for r in after if r.status_code != 200 or r.json()["allowed"]] == []


def test_the_instances_record_the_address_the_balancer_saw_and_it_logs_no_consent_id(balancer, site):
    # A visitor on 127.0.2.1 (the balancer itself reaches the instances from 127.0.0.1), forging a hop.
    connection = http.client.HTTPConnection("127.0.0.1", balancer.port, timeout=30, source_address=("127.0.2.1", 0))
    body = json.dumps({"action": "accept_all", "policy_version": 1})
    headers = {"Origin": site.ORIGIN, "Content-Type": "application/json", "X-Forwarded-For": "198.51.100.7"}
    connection.request("POST", f"/api/v1/sites/{site.key}/consents", body=body, headers=headers)
    response = connection.getresponse()
    assert response.status == 201
    visitor = json.loads(response.read())["consent_id"]
    connection.close()
    history = requests.get(
        f"{site.base}/consents/{visitor}/history", headers={"Authorization": f"Bearer {site.token}"}, timeout=30
    )
    assert [record["ip_address"] for record in history.json()["records"]] == ["127.0.2.0"]  # its /24

    assert visits(site, 2) == []
    log = balancer.log.read_text()
    assert "/api/v1/sites/" in log and "/consents/<id>/categories/" in log
    assert not UUID.search(log)


def test_the_balancer_does_not_pass_the_metrics(balancer):
    assert requests.get(f"{balancer.url}/metrics", timeout=30).status_code == 403


def test_an_instance_stopped_is_taken_out_and_the_answers_keep_coming(balancer, servers, site):
    """Last in this module: the second instance stays stopped."""
    with ThreadPoolExecutor(1) as background:
        during = background.submit(visits, site, 48)
        servers[1].stop()
        assert during.result() == []
    balancer.wait_for(lambda states: states == {"app1": "UP", "app2": "DOWN"}, "the stopped instance down")
    before = len(servers[0].access_lines())
    assert visits(site, 16) == []
    # All answered by the instance left. Its access log is written just after each answer, and may
    # still get a line or two of the requests before.
    least = {"decisions": 16 * 2, "checks": 16 * 2 * CHECKS}
    deadline = time.monotonic() + 30
    while not all(served(servers[0], since=before)[what] >= least[what] for what in least):
        assert time.monotonic() < deadline, served(servers[0], since=before)
        time.sleep(0.1)
