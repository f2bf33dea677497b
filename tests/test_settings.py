"""Settings that fail closed: no production server starts with a secret it made up."""

import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START = "import django; django.setup(); from django.conf import settings; print(len(settings.SECRET_KEY))"


# Set in this process for the browser tests (Playwright's sync API); no server would have it.
TEST_ONLY_VARIABLES = ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")


def start(**env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_VARIABLES}
    environ.update(DJANGO_SETTINGS_MODULE="cmp_site.settings", **env)
    return subprocess.run([sys.executable, "-c", START], cwd=ROOT, env=environ, capture_output=True, text=True)


def test_production_refuses_to_start_without_a_secret_key():
    refused = start()
    assert refused.returncode != 0
    assert "SECRET_KEY is not set" in refused.stderr
    assert start(SECRET_KEY="k" * 50).stdout.strip() == "50"


def test_a_local_debug_server_keeps_its_key_readable_by_its_owner_only():
    started = start(DEBUG="1")
    assert started.returncode == 0, started.stderr
    assert stat.S_IMODE((ROOT / ".secret_key").stat().st_mode) == 0o600


def test_the_documented_production_settings_pass_the_deploy_check():
    environ = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_VARIABLES}
    environ.update(SECRET_KEY=secrets.token_urlsafe(50), HTTPS="1", ALLOWED_HOSTS="cmp.example.com")
    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout


def test_https_redirects_everything_but_the_health_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    moved = client.get("/api/v1/sites/x/config")
    assert moved.status_code == 301 and moved["Location"].startswith("https://")
