"""What anyone on the internet can send: a forged client address does not escape the throttle,
nor does a Redis outage; free text cannot become a spreadsheet formula in the dashboard's CSV."""

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import override_settings

from consent.api.throttles import PublicRateThrottle
from consent.models import ConsentRecord, PolicyVersion
from consent.services.config import banner_config
from consent.services.records import record_decision
from consent.services.rollup import rollup
from consent.services.sites import site_snapshot
from consent.services.webhooks import create_endpoint
from tests.conftest import sign_in_staff
from tests.test_faults import DEAD_REDIS


@pytest.fixture
def five_a_minute(monkeypatch):
    monkeypatch.setattr(PublicRateThrottle, "rate", "5/min", raising=False)


def test_a_forged_x_forwarded_for_does_not_escape_the_throttle(api, five_a_minute):
    statuses = [
        api.http.get(f"{api.base}/config", headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(12)
    ]
    assert statuses[:5] == [200] * 5
    assert set(statuses[5:]) == {429}


def test_the_throttle_holds_while_redis_is_down(api, five_a_minute):
    with override_settings(CACHES=DEAD_REDIS):
        statuses = [api.http.get(f"{api.base}/config").status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3


def test_ipv6_clients_are_counted_by_their_64(rf, five_a_minute):
    throttle = PublicRateThrottle()
    one = rf.get("/", REMOTE_ADDR="2001:db8:1:2::1")
    other_in_the_same_64 = rf.get("/", REMOTE_ADDR="2001:db8:1:2:ffff::9")
    another_64 = rf.get("/", REMOTE_ADDR="2001:db8:1:3::1")
    assert throttle.get_ident(one) == throttle.get_ident(other_in_the_same_64) == "2001:db8:1:2::/64"
    assert throttle.get_ident(another_64) != throttle.get_ident(one)
    assert throttle.get_ident(rf.get("/", REMOTE_ADDR="::ffff:192.0.2.7")) == "192.0.2.7"


@pytest.mark.parametrize("language", ["=1+2", "@SUM(1+1)", '+cmd|"/c calc"!A', "-2+3", "en_US", "e", "a" * 17])
def test_a_language_that_is_not_a_tag_is_refused(api, language):
    response = api.post("/consents", json={"action": "accept_all", "policy_version": 1, "language": language})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["language"]
    assert not ConsentRecord.objects.exists()
    impression = api.post("/impressions", json={"language": language})
    assert impression.status_code == 400


@pytest.mark.parametrize("language", ["en", "pt-BR", "zh-Hant-TW", "de-AT"])
def test_language_tags_are_recorded(api, language):
    body = api.decide(action="accept_all", language=language)
    assert ConsentRecord.objects.get(consent_id=body["consent_id"]).language == language


def test_no_csv_cell_can_run_as_a_formula(client, site):
    """Rows stored before languages were validated still reach the CSV: their cells are defused."""
    for language in ("=1+2", "@SUM(1+1)", '+cmd|"/c calc"!A', "-2+3", "en"):
        record_decision(site=site_snapshot(site.key), action="accept_all", policy_version=1, language=language)
    rollup()
    sign_in_staff(client, User.objects.create_superuser("marketer", password="pw-123456789"))
    response = client.get("/admin/consent/site/dashboard/", {"site": site.pk, "format": "csv", "by": "language"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    groups = {row["group"] for row in rows if row["compare_by"] == "language"}
    assert groups == {"'=1+2", "'@SUM(1+1)", '\'+cmd|"/c calc"!A', "'-2+3", "en"}
    for row in rows:
        assert not any(str(value).startswith(("=", "+", "-", "@")) for value in row.values())


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "data:text/html,x", "ftp://files.example/p"])
def test_only_http_urls_become_policy_links(site, url):
    with pytest.raises(CommandError, match="http"):
        call_command("publishpolicy", "--site", site.key, "--url", url)
    with pytest.raises(CommandError, match="http"):
        call_command("createsite", "--name", "X", "--origin", "https://x.example", "--policy-url", url)
    with pytest.raises(ValidationError):
        create_endpoint(site=site, url=url)
    # A link stored by an older release never reaches the banner.
    PolicyVersion.objects.filter(site=site).update(url=url)
    assert banner_config(site.key)["policy"]["url"] == ""
    call_command("publishpolicy", "--site", site.key, "--url", "https://shop.example/cookies")
    assert PolicyVersion.objects.filter(site=site).first().url == "https://shop.example/cookies"


def test_a_flood_of_new_identities_does_not_push_out_a_counted_client(rf, five_a_minute):
    """Each forged identity costs the flooder a request of its own; the counted client stays counted."""
    throttle = PublicRateThrottle()
    client = rf.get("/", REMOTE_ADDR="198.51.100.7")
    verdicts = []
    for round_ in range(8):
        verdicts.append(throttle.allow_request(client, None))
        for i in range(500):  # more identities than Django's local-memory cache keeps by default (300)
            throttle.allow_request(rf.get("/", REMOTE_ADDR=f"10.{round_}.{i // 250}.{i % 250}"), None)
    assert verdicts == [True] * 5 + [False] * 3
