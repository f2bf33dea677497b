"""`/metrics`: who may read it, what the counters, the histogram and the gauges say, over real HTTP;
and, on a real gunicorn of two workers, that the counts of both add up."""

import json
import os
import re
import signal
import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from consent.models import WebhookDelivery
from consent.services.proof import seal_site
from consent.services.rollup import rollup
from consent.services.webhooks import create_endpoint
from tests.conftest import sign_in_staff
from tests.deployment import ROOT, Database, Server, Site
from tests.factories import make_site
from tests.test_faults import DEAD_REDIS

TOKEN = "metrics-token-for-the-tests"


@pytest.fixture
def metrics_on(settings):
    settings.CMP_METRICS_TOKEN = TOKEN


def scrape(root: str, token: str = TOKEN) -> dict:
    response = requests.get(f"{root}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return samples(response.text)


def samples(text: str) -> dict:
    """Every sample of the exposition, by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def total(found: dict, name: str, **labels) -> float:
    """The sum over every sample of `name` that has these labels (and any others)."""
    wanted = set(labels.items())
    return sum(v for (n, sample_labels), v in found.items() if n == name and wanted <= sample_labels)


def delta(before: dict, after: dict, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_are_off_until_a_token_is_set(api, settings):
    settings.CMP_METRICS_TOKEN = ""
    for headers in ({}, {"Authorization": "Bearer anything"}):
        response = requests.get(f"{api.root}/metrics", headers=headers, timeout=30)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert requests.post(f"{api.root}/metrics", timeout=30).status_code == 404


def test_only_the_token_may_read_them(api, metrics_on):
    anonymous = requests.get(f"{api.root}/metrics", timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.json()["error"]["code"] == "unauthorized"
    for wrong in ("wrong", TOKEN + "x", TOKEN[:-1], api.key):
        response = requests.get(f"{api.root}/metrics", headers={"Authorization": f"Bearer {wrong}"}, timeout=30)
        assert response.status_code == 401, wrong
        assert "cmp_" not in response.text
    assert requests.post(f"{api.root}/metrics", headers=api.auth(TOKEN), timeout=30).status_code == 405
    right = requests.get(f"{api.root}/metrics", headers=api.auth(TOKEN), timeout=30)
    assert right.status_code == 200
    assert right.headers["Cache-Control"] == "no-store"
    assert "# TYPE cmp_decisions_total counter" in right.text
    openmetrics = requests.get(
        f"{api.root}/metrics", headers={**api.auth(TOKEN), "Accept": "application/openmetrics-text"}, timeout=30
    )
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")


def test_a_signed_in_superuser_may_read_them_and_other_staff_may_not(api, metrics_on, client):
    def as_signed_in(user) -> requests.Response:
        sign_in_staff(client, user)
        cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
        return requests.get(f"{api.root}/metrics", cookies=cookies, timeout=30)

    superuser = User.objects.create_superuser("operator", password="pw-123456789")
    assert as_signed_in(superuser).status_code == 200
    staff = User.objects.create_user("marketer", password="pw-123456789", is_staff=True)
    refused = as_signed_in(staff)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_scrapes_over_http_are_not_redirected_to_https(client, db, metrics_on, settings):
    """Prometheus scrapes each instance on its private address, as balancers probe /healthz."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_the_sample_dashboard_asks_for_metrics_that_exist(api, metrics_on):
    visitor = api.decide(action="accept_all")["consent_id"]
    api.get(f"/consents/{visitor}/categories/analytics")
    response = requests.get(f"{api.root}/metrics", headers=api.auth(TOKEN), timeout=30)
    exposed = set()
    for family in text_string_to_metric_families(response.text):
        exposed |= {family.name} | {sample.name for sample in family.samples}
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    asked = {name for expr in expressions for name in re.findall(r"\bcmp_[a-z_]+", expr)}
    assert len(asked) >= 10
    assert asked <= exposed, asked - exposed


def test_decisions_and_checks_are_counted_by_site_action_and_outcome(api, metrics_on):
    site = api.site.key
    before = scrape(api.root)
    accepted = api.decide(action="accept_all")["consent_id"]
    refused = api.decide(action="reject_all")["consent_id"]
    api.decide(categories={"analytics": True})
    # The fast path (a plain GET) three times, the full path (a query string) once.
    fast = [api.get(f"/consents/{accepted}/categories/analytics") for _ in range(3)]
    full = api.get(f"/consents/{refused}/categories/analytics?region=DE")
    stranger = api.get(f"/consents/{uuid.uuid4()}/categories/marketing")
    unknown_category = api.get(f"/consents/{accepted}/categories/nonsense")
    batch = api.post(
        "/consents/check", json={"consent_ids": [accepted, refused], "categories": ["analytics"]}, key=api.key
    )
    assert [r.json() for r in fast] == [{"allowed": True, "reason": "granted"}] * 3
    assert full.json() == {"allowed": False, "reason": "refused"}
    assert stranger.json() == {"allowed": False, "reason": "no_decision"}
    assert unknown_category.status_code == 404
    assert batch.status_code == 200
    after = scrape(api.root)

    for action in ("accept_all", "reject_all", "custom"):
        assert value(after, "cmp_decisions_total", site=site, action=action, regime="opt_in") == 1
    assert value(after, "cmp_checks_total", site=site, outcome="allowed", reason="granted") == 4
    assert value(after, "cmp_checks_total", site=site, outcome="refused", reason="refused") == 2
    assert value(after, "cmp_checks_total", site=site, outcome="refused", reason="no_decision") == 1
    assert total(after, "cmp_checks_total", site=site) == 7  # the unknown category is no answer
    # Labels name the site, never a visitor.
    assert not any(accepted in str(labels) for _, labels in after)

    answered = delta(before, after, "cmp_request_seconds_count", endpoint="api:category")
    assert answered == 6
    assert delta(before, after, "cmp_request_seconds_bucket", endpoint="api:category", le="+Inf") == answered
    assert delta(before, after, "cmp_request_seconds_bucket", endpoint="api:category", le="1.0") <= answered
    assert delta(before, after, "cmp_request_seconds_sum", endpoint="api:category") > 0
    assert delta(before, after, "cmp_request_seconds_count", endpoint="api:consents") == 3
    assert delta(before, after, "cmp_request_seconds_count", endpoint="api:check") == 1
    assert delta(before, after, "cmp_request_seconds_count", endpoint="metrics") == 1


def test_the_cache_counts_what_it_finds(api, metrics_on):
    visitor = api.decide(action="accept_all")["consent_id"]
    api.get(f"/consents/{visitor}/categories/analytics")
    before = scrape(api.root)
    for _ in range(5):
        assert api.get(f"/consents/{visitor}/categories/analytics").json()["allowed"] is True
    after = scrape(api.root)
    hits = delta(before, after, "cmp_cache_requests_total", result="hit")
    misses = delta(before, after, "cmp_cache_requests_total", result="miss")
    # Each fast check reads the site, the key and the visitor's state.
    assert hits + misses == 15
    if settings.REDIS_URL:
        assert hits == 15
    else:
        assert misses == 15  # without Redis nothing is cached: every read goes to the database
    assert delta(before, after, "cmp_cache_requests_total", result="unavailable") == 0


def test_with_redis_down_the_cache_counts_unavailable(api, metrics_on, settings):
    visitor = api.decide(action="accept_all")["consent_id"]
    settings.CACHES = DEAD_REDIS
    before = scrape(api.root)
    for _ in range(3):
        assert api.get(f"/consents/{visitor}/categories/analytics").json()["allowed"] is True
    after = scrape(api.root)
    assert delta(before, after, "cmp_cache_requests_total", result="unavailable") >= 9
    assert delta(before, after, "cmp_cache_requests_total", result="hit") == 0


def test_the_gauges_show_what_waits_on_the_background_jobs(api, metrics_on):
    idle = make_site(name="Idle")
    create_endpoint(site=api.site, url="http://127.0.0.1:9/hook")
    empty = scrape(api.root)
    assert value(empty, "cmp_webhook_queue_depth") == 0
    assert value(empty, "cmp_webhook_oldest_pending_seconds") == 0
    assert value(empty, "cmp_rollup_lag_records") == 0
    assert value(empty, "cmp_seal_lag_records", site=api.site.key) == 0
    assert not any(name == "cmp_replica_lag_seconds" for name, _ in empty)  # no replica is configured

    for action in ("accept_all", "reject_all", "accept_all"):
        api.decide(action=action)  # a first refusal changes no answer: no webhook event
    hour_ago = timezone.now() - timedelta(hours=1)
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.order_by("id").first().pk).update(created_at=hour_ago)
    waiting = scrape(api.root)
    assert value(waiting, "cmp_webhook_queue_depth") == 2
    assert value(waiting, "cmp_webhook_oldest_pending_seconds") >= 3600
    assert value(waiting, "cmp_rollup_lag_records") == 3
    assert 0 <= value(waiting, "cmp_rollup_lag_seconds") < 60
    assert value(waiting, "cmp_seal_lag_records", site=api.site.key) == 3
    assert 0 <= value(waiting, "cmp_seal_lag_seconds", site=api.site.key) < 60
    assert value(waiting, "cmp_seal_lag_records", site=idle.key) == 0

    later = timezone.now() + timedelta(hours=1)
    WebhookDelivery.objects.update(status=WebhookDelivery.DELIVERED)
    rollup(now=later)
    seal_site(api.site, now=later)
    done = scrape(api.root)
    for name in ("cmp_webhook_queue_depth", "cmp_webhook_oldest_pending_seconds", "cmp_rollup_lag_records"):
        assert value(done, name) == 0, name
    assert value(done, "cmp_rollup_lag_seconds") == 0
    assert value(done, "cmp_seal_lag_records", site=api.site.key) == 0
    assert value(done, "cmp_seal_lag_seconds", site=api.site.key) == 0

    api.decide(action="reject_all")
    again = scrape(api.root)
    assert value(again, "cmp_rollup_lag_records") == 1
    assert value(again, "cmp_seal_lag_records", site=api.site.key) == 1


# Multiprocess mode, on the shipped gunicorn configuration.


@pytest.fixture(scope="module")
def multiprocess_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("metrics")
    database = Database(workdir)
    directory = workdir / "prometheus"
    server = Server(
        database,
        workdir,
        workers=2,
        extra=("-e", f"PROMETHEUS_MULTIPROC_DIR={directory}", "-e", f"CMP_METRICS_TOKEN={TOKEN}"),
    )
    yield server
    server.stop()
    database.drop()


def worker_pids(server: Server, path_part: str) -> set[int]:
    return {int(pid.strip("<>")) for pid in server.pids_that_served(path_part)}


def test_with_several_workers_the_counts_of_every_worker_add_up(multiprocess_server):
    server = multiprocess_server
    site = Site(server)
    visitors = []
    while len(worker_pids(server, "/consents")) < 2:
        visitors.append(site.decide("accept_all")["consent_id"])
        assert len(visitors) < 200, "one worker answered every decision"
    for visitor in visitors:
        assert site.check(visitor).json() == {"allowed": True, "reason": "granted"}

    def assert_every_count(found: dict) -> None:
        decided = len(visitors)
        assert value(found, "cmp_decisions_total", site=site.key, action="accept_all", regime="opt_in") == decided
        assert value(found, "cmp_checks_total", site=site.key, outcome="allowed", reason="granted") == decided
        assert value(found, "cmp_request_seconds_count", endpoint="api:consents") == decided
        assert value(found, "cmp_request_seconds_count", endpoint="api:category") == decided
        assert value(found, "cmp_rollup_lag_records") == decided

    # Each scrape reaches one worker; every one of them answers with the counts of both.
    for _ in range(6):
        assert_every_count(scrape(server.url))

    # A worker that exits (and is replaced) leaves its counts behind.
    before = worker_pids(server, "")
    os.kill(min(before), signal.SIGTERM)
    deadline = time.monotonic() + 60
    while not worker_pids(server, "/metrics") - before:  # until its replacement answers a scrape
        assert time.monotonic() < deadline, "gunicorn did not replace the worker"
        assert_every_count(scrape(server.url))
        time.sleep(0.1)
    assert_every_count(scrape(server.url))
