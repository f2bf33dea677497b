"""A deployment as an operator runs it, for the tests: its own database (SQLite file or a fresh
PostgreSQL database, like the suite's), optionally Redis, gunicorn with several workers, and the
management commands run as separate processes. Everything talks over real sockets."""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# A Redis database of its own, emptied when a deployment starts (DEPLOYMENT_REDIS_URL: another
# one, for a run beside one that uses it).
REDIS_DB_URL = os.environ.get("DEPLOYMENT_REDIS_URL", "redis://127.0.0.1:6379/3")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def suite_uses_postgresql() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


class Database:
    """A database of its own, migrated once: SQLite in a file, or PostgreSQL beside the suite's."""

    def __init__(self, workdir: Path):
        if suite_uses_postgresql():
            db = settings.DATABASES["default"]
            self.server = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            self.name = f"cmp_deploy_{secrets.token_hex(4)}"
            self._admin(f'CREATE DATABASE "{self.name}"')
            self.url = f"{self.server}/{self.name}"
        else:
            self.url = f"sqlite:///{workdir / 'cmp.sqlite3'}"
        self.env = {
            "DATABASE_URL": self.url,
            "DATABASE_URLS_BY_REGION": "",  # a deployment of one database
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CMP_PUBLIC_RATE": "100000000/min",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.manage("migrate", "--noinput", "-v0")

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as connection:
            connection.execute(sql)

    def manage(self, *args: str, env: dict | None = None, returncode: int = 0) -> str:
        """Run a management command in a process of its own; its last line of output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**os.environ, **self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == returncode, done.stderr
        lines = done.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    def drop(self) -> None:
        if suite_uses_postgresql():
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Server:
    """gunicorn with the shipped configuration, on a port of its own."""

    def __init__(self, database: Database, workdir: Path, *, redis_url: str = "", workers: int = 4, extra=()):
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**database.env, "REDIS_URL": redis_url} if redis_url else dict(database.env)
        if not redis_url:
            self.env.pop("REDIS_URL", None)
        self.log = workdir / f"gunicorn-{self.port}.log"
        self.access = workdir / f"access-{self.port}.log"
        environ = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "cmp_site.wsgi", "-c", "cmp_site/gunicorn.conf.py",
                "-b", f"127.0.0.1:{self.port}", "-w", str(workers),
                "--access-logfile", str(self.access), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s",
                *extra,
            ],
            cwd=ROOT,
            env={**environ, **self.env},
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()  # the fixture never yields: nothing else would stop it
            raise

    def _wait_until_up(self) -> None:
        # A busy machine (CI runs beside other work) may take a while to boot four workers.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if requests.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not start:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def access_lines(self) -> list[str]:
        """The access log: one line per request, `PID METHOD PATH STATUS`."""
        return self.access.read_text().splitlines() if self.access.exists() else []

    def pids_that_served(self, path_part: str) -> set[str]:
        """The worker processes whose access log lines name this path."""
        return {line.split()[0] for line in self.access_lines() if path_part in line}

    def manage(self, *args: str, returncode: int = 0) -> str:
        """A management command as an operator runs it beside this server (same settings)."""
        return self.database.manage(*args, env=self.env, returncode=returncode)


class Site:
    """A site made with the commands, and the HTTP calls of its visitors and backend."""

    ORIGIN = "https://shop.example"

    def __init__(self, server: Server):
        self.server = server
        self.key = server.manage("createsite", "--name", "Shop", "--origin", self.ORIGIN)
        self.token = server.manage("createapikey", "--site", self.key)
        self.base = f"{server.url}/api/v1/sites/{self.key}"
        self.tokens: dict[str, str] = {}  # consent id -> visitor token, as browsers keep them

    def decide(self, action: str, consent_id: str | None = None, policy_version: int = 1) -> dict:
        body = {"action": action, "policy_version": policy_version}
        if consent_id:
            body["consent_id"] = consent_id
            body["token"] = self.tokens[consent_id]
        # A new connection each time, so that any worker may answer.
        response = requests.post(f"{self.base}/consents", json=body, headers={"Origin": self.ORIGIN}, timeout=30)
        assert response.status_code == 201, response.text
        recorded = response.json()
        self.tokens.setdefault(recorded["consent_id"], recorded.get("token"))
        return recorded

    def check(self, consent_id: str, category: str = "analytics", token: str | None = None) -> requests.Response:
        return requests.get(
            f"{self.base}/consents/{consent_id}/categories/{category}",
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )

    def withdraw_amid_checks(self, pool, visitors: int) -> list[str]:
        """New visitors who accept, then each one's withdrawal sent together with three checks of
        them (on the pool's threads), all answered: the race a stale cache entry would lose.
        Returns the visitors' ids."""
        ids = list(pool.map(lambda _: self.decide("accept_all")["consent_id"], range(visitors)))
        tasks = []
        for visitor in ids:
            tasks.append(pool.submit(self.decide, "withdraw", visitor))
            tasks += [pool.submit(self.check, visitor) for _ in range(3)]
        for task in tasks:
            task.result()
        return ids


class TcpProxy:
    """A TCP proxy to a real server, which a test cuts (every connection dropped, new ones closed
    at once) and restores: an outage of that server as its clients see it."""

    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=2)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                self._close(end)

    def _close(self, end: socket.socket) -> None:
        with self.lock:
            self.sockets.discard(end)
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        end.close()

    def cut(self) -> None:
        self.open.clear()
        with self.lock:
            ends = list(self.sockets)
        for end in ends:
            self._close(end)

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()
