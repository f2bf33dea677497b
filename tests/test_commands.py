"""The commands of docs/operations.md ("Commands"), run as an operator or a script would."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from consent.models import ApiKey, ConsentRecord, PolicyVersion, Site
from consent.selectors.figures import consent_figures, interaction_rates
from consent.services.proof import verify_site
from consent.services.samples import SAMPLE_AGENT
from consent.services.sites import authenticate_api_key
from tests.factories import decide

ROOT = Path(__file__).resolve().parent.parent


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_createsite_prints_the_key_alone_on_the_last_line():
    output = run(
        "createsite", "--name", "Shop", "--origin", "https://shop.example", "--origin", "https://www.shop.example/"
    )
    key = output.strip().splitlines()[-1]
    site = Site.objects.get(key=key)
    assert sorted(site.origins.values_list("origin", flat=True)) == ["https://shop.example", "https://www.shop.example"]
    assert site.categories.count() == 4
    assert PolicyVersion.objects.get(site=site).version == 1


@pytest.mark.django_db
def test_createsite_refuses_an_origin_with_a_path():
    with pytest.raises(CommandError, match="scheme and host"):
        run("createsite", "--name", "Shop", "--origin", "https://shop.example/shop")
    with pytest.raises(CommandError, match="not an origin"):
        run("createsite", "--name", "Shop", "--origin", "shop.example")


@pytest.mark.django_db
def test_createapikey_prints_a_working_key(site):
    token = run("createapikey", "--site", site.key, "--name", "crm").strip().splitlines()[-1]
    assert authenticate_api_key(token).site_id == site.id
    assert ApiKey.objects.get(site=site).name == "crm"
    with pytest.raises(CommandError, match="No site"):
        run("createapikey", "--site", "nope")


@pytest.mark.django_db
def test_publishpolicy(site):
    assert "material version 2" in run("publishpolicy", "--site", site.key, "--material", "--summary", "New ad partner")
    assert "minor version 3" in run("publishpolicy", "--site", site.key, "--url", "https://shop.example/cookies")
    latest = PolicyVersion.objects.filter(site=site).first()
    assert (latest.version, latest.material, latest.url) == (3, False, "https://shop.example/cookies")


@pytest.mark.django_db
def test_verifyproof_and_purge(site):
    decide(site, action="accept_all")
    assert "Intact: 1 records of 1 visitors" in run("verifyproof", "--site", site.key)
    assert "Would delete 0 records" in run("purge", "--dry-run")


@pytest.mark.django_db
def test_demo_prints_what_to_open():
    output = run("demo", "--host", "127.0.0.1:8123")
    assert "http://127.0.0.1:8123/demo/" in output
    assert "password" in output
    site = Site.objects.get(name="Demo shop")
    assert "http://127.0.0.1:8123" in site.origins.values_list("origin", flat=True)
    run("demo", "--host", "127.0.0.1:8123")  # again: the same site, a fresh key
    assert Site.objects.filter(name="Demo shop").count() == 1


@pytest.mark.django_db
def test_the_demo_dashboard_has_weeks_of_sample_figures_marked_as_such():
    output = run("demo", "--host", "127.0.0.1:8123")
    site = Site.objects.get(name="Demo shop")
    samples = ConsentRecord.objects.filter(site=site)
    assert samples.count() > 1000 and not samples.exclude(user_agent=SAMPLE_AGENT).exists()
    assert f"({samples.count()} sample decisions added, marked as such)" in output
    today = timezone.now().date()
    figures = consent_figures(site=site, start=today - timedelta(days=42), end=today, granularity="week")
    assert len(figures.rates) >= 6 and all(row.decisions for row in figures.rates[:-1])
    assert {row.period for row in figures.split} and interaction_rates(
        site=site, start=today - timedelta(days=42), end=today, granularity="week"
    )[0].impressions
    # Both regimes, so that the dashboard's regime comparison has something to compare.
    assert set(samples.values_list("regime", flat=True)) == {"opt_in", "opt_out"}
    assert samples.filter(regime="opt_out", region__startswith="US-", categories__marketing=False).exists()
    assert verify_site(site).intact
    run("demo", "--host", "127.0.0.1:8123")  # again: no second set
    assert ConsentRecord.objects.filter(site=site).count() == samples.count()


def test_a_script_can_capture_the_site_key(tmp_path):
    """The documented shell use: `SITE=$(python manage.py createsite ... | tail -1)`."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    created = subprocess.run(
        [*manage, "createsite", "--name", "S", "--origin", "https://s.example"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    site_key = created.stdout.strip().splitlines()[-1]
    assert len(created.stdout.strip().splitlines()) == 1
    key = subprocess.run(
        [*manage, "createapikey", "--site", site_key], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    assert key.startswith("cmp_") and "\n" not in key
    helped = subprocess.run([*manage, "verifyproof", "--help"], env=env, capture_output=True, text=True)
    assert helped.returncode == 0 and "--site" in helped.stdout


def test_every_command_that_changes_a_site_leaves_an_audit_entry(db):
    from consent.models import ConfigChange

    key = run("createsite", "--name", "Audited", "--origin", "https://audited.example").strip().splitlines()[-1]
    run("createapikey", "--site", key)
    run("publishpolicy", "--site", key, "--material")
    entries = ConfigChange.objects.filter(site__key=key).order_by("id")
    assert [(e.username, e.action) for e in entries] == [
        ("manage.py createsite", "added"),
        ("manage.py createapikey", "created"),
        ("manage.py publishpolicy", "published"),
    ]


@pytest.mark.django_db
def test_forgetcache_moves_the_cache_epoch_on():
    from consent.models import CacheEpoch

    before = CacheEpoch.objects.filter(pk=1).values_list("value", flat=True).first() or 0
    assert "now a miss" in run("forgetcache")
    assert CacheEpoch.objects.get(pk=1).value == before + 1
