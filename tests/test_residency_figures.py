"""Data residency of the dashboard's counts: a site pinned to a data region has its roll-ups, mark,
queued removals and banner impressions in its region's database alone (consent.residency), its
figures are read there, and those of all sites add up every database's. The PostgreSQL pass
configures the region `us` (Makefile: DATABASE_URLS_BY_REGION); without it these tests skip.
Production's strict rule is on (the `regional_site` fixture): a query on visitors' data that names
no site or database fails the test."""

import csv
import io
import uuid
from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from consent.models import (
    ConsentRecord,
    ConsentState,
    DailyConsentStat,
    DailyImpressions,
    PendingRemoval,
    RollupMark,
    StatView,
)
from consent.selectors.figures import ROLLUP_NAME, consent_figures, interaction_rates
from consent.services.rights import erase_visitor
from consent.services.rollup import record_impression, rollup
from consent.services.samples import SAMPLE_AGENT, add_sample_decisions
from consent.services.sites import site_snapshot
from tests.conftest import in_region
from tests.factories import decide, make_site

REGION = "region_us"
REGIONAL = in_region()
DASHBOARD = "/admin/consent/site/dashboard/"
TODAY = timezone.now().astimezone(UTC).date()
# A roll-up this far ahead counts the decisions just made (consent.services.rollup.SETTLE).
LATER = timedelta(minutes=10)


def later():
    return timezone.now() + LATER


@pytest.fixture
def home_site(db):
    """A site beside the regional one, its data in the default database."""
    return make_site(name="EU shop", origins=("https://shop.example.eu",))


@pytest.fixture
def decided(regional_site, home_site):
    """In the region, one visitor accepts then narrows to analytics, one rejects, one accepts (3
    visitors, 4 decisions, 5 banners shown); at home, one accepts and one chooses marketing (2
    visitors and decisions, 4 banners)."""
    changing = uuid.uuid4()
    decide(regional_site, "accept_all", consent_id=changing)
    decide(regional_site, "custom", consent_id=changing, analytics=True)
    decide(regional_site, "reject_all")
    decide(regional_site, "accept_all")
    decide(home_site, "accept_all")
    decide(home_site, "custom", marketing=True)
    for site, shown in ((regional_site, 5), (home_site, 4)):
        for _ in range(shown):
            record_impression(site=site_snapshot(site.key), language="en")
    return regional_site, home_site


def counts(site=None, view=StatView.DECISIONS, by=None):
    """(decisions, analytics allowed, marketing allowed) over today, for one site or all."""
    figures = consent_figures(site=site, start=TODAY, end=TODAY, view=view, by=by)
    return [(r.decisions, r.allowed["analytics"], r.allowed["marketing"]) for r in figures.rates]


def stored(site, database: str) -> int:
    """The decisions the roll-ups of `database` count for the site."""
    rows = DailyConsentStat.objects.using(database).filter(site_id=site.pk, view=StatView.DECISIONS)
    return sum(rows.values_list("count", flat=True))


@REGIONAL
def test_the_rollup_counts_each_sites_records_in_its_own_database(decided):
    regional, home = decided
    assert not DailyImpressions.objects.using("default").filter(site_id=regional.pk).exists()
    assert DailyImpressions.objects.using(REGION).get(site_id=regional.pk).count == 5

    report = rollup(now=later())

    assert {done.database: done.records for done in report.databases} == {"default": 2, REGION: 4}
    assert report.records == 6
    assert (stored(regional, REGION), stored(home, "default")) == (4, 2)
    # None of the regional site's counts reach the default database, nor the other way round.
    for model in (DailyConsentStat, PendingRemoval, DailyImpressions):
        assert not model.objects.using("default").filter(site_id=regional.pk).exists(), model.__name__
    assert not DailyConsentStat.objects.using(REGION).filter(site_id=home.pk).exists()
    # Each database's mark is on its own records' ids.
    for database in ("default", REGION):
        last = ConsentRecord.objects.using(database).order_by("-id").values_list("id", flat=True).first()
        assert RollupMark.objects.using(database).get(name=ROLLUP_NAME).last_record_id == last
    assert rollup(now=later()).records == 0


@REGIONAL
def test_one_sites_figures_and_all_sites_add_up_live_and_rolled_up(decided):
    regional, home = decided
    for counted in ("live", "rolled up"):
        assert counts(regional) == [(4, 3, 2)], counted
        assert counts(home) == [(2, 1, 2)], counted
        assert counts() == [(6, 4, 4)], counted
        assert counts(regional, StatView.CURRENT) == [(3, 2, 1)], counted
        assert counts(view=StatView.CURRENT) == [(5, 3, 3)], counted
        by_site = consent_figures(start=TODAY, end=TODAY, by="site").compared_rates
        assert {r.group: r.decisions for r in by_site} == {"US shop": 4, "EU shop": 2}, counted
        assert [(r.impressions, r.decisions) for r in interaction_rates(site=regional, start=TODAY, end=TODAY)] == [
            (5, 4)
        ]
        assert [(r.impressions, r.decisions) for r in interaction_rates(start=TODAY, end=TODAY)] == [(9, 6)]
        rollup(now=later())
    # A decision after the roll-up is counted live, in its site's database's figures only.
    decide(regional, "reject_all")
    assert counts(regional) == [(5, 3, 2)]
    assert counts(home) == [(2, 1, 2)]
    assert counts() == [(7, 4, 4)]


@REGIONAL
def test_the_dashboard_shows_a_regional_site_and_all_sites(operator, decided):
    regional, _ = decided
    rollup(now=later())
    decide(regional, "custom", marketing=True)  # live, after the roll-up

    page = operator.get(DASHBOARD, {"site": regional.pk})
    assert page.status_code == 200
    assert [(r.decisions, r.allowed["marketing"]) for r in page.context["figures"].rates] == [(5, 3)]
    assert [(r.impressions, r.decisions, r.rate) for r in page.context["interaction"]] == [(5, 5, 100.0)]
    assert "US shop, " in page.content.decode()

    everything = operator.get(DASHBOARD, {"by": "site"})
    assert everything.status_code == 200
    assert [(r.decisions, r.allowed["marketing"]) for r in everything.context["figures"].rates] == [(7, 5)]
    assert [(r.impressions, r.decisions) for r in everything.context["interaction"]] == [(9, 7)]
    assert {label: row.decisions for label, row in everything.context["compared_rates"]} == {
        "US shop": 5,
        "EU shop": 2,
    }
    assert "All sites, " in everything.content.decode()

    exported = operator.get(DASHBOARD, {"by": "site", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [(r["group"], r["decisions"], r["impressions"]) for r in rows] == [
        ("", "7", "9"),
        ("EU shop", "2", ""),
        ("US shop", "5", ""),
    ]


@REGIONAL
def test_erasing_a_regional_visitor_takes_them_out_in_the_regions_database(decided):
    regional, home = decided
    rollup(now=later())
    visitor = ConsentRecord.objects.using(REGION).get(action="reject_all").consent_id

    erase_visitor(site_snapshot(regional.key), visitor)

    assert PendingRemoval.objects.using(REGION).filter(site_id=regional.pk, action="reject_all").count() == 1
    assert not PendingRemoval.objects.using("default").exists()
    # Out of the current figures at once (taken out live), and for good after the next roll-up.
    assert counts(regional, StatView.CURRENT) == [(2, 2, 1)]
    assert counts(view=StatView.CURRENT) == [(4, 3, 3)]
    report = rollup(now=later())
    assert {done.database: done.removals for done in report.databases} == {"default": 0, REGION: 1}
    assert not PendingRemoval.objects.using(REGION).exists()
    current = DailyConsentStat.objects.using(REGION).filter(site_id=regional.pk, view=StatView.CURRENT)
    assert sum(current.values_list("count", flat=True)) == 2
    assert counts(regional, StatView.CURRENT) == [(2, 2, 1)]
    assert counts(home, StatView.CURRENT) == [(2, 1, 2)]
    # Decisions over time keep counting what was decided.
    assert counts(regional) == [(4, 3, 2)]


@REGIONAL
def test_the_rollup_command_says_what_it_did_in_each_database(decided, capsys):
    call_command("rollup")  # the decisions just made wait for the next run (SETTLE)
    out = capsys.readouterr().out
    assert "default: counted 0 new records and 0 erasures" in out
    assert f"{REGION}: counted 0 new records and 0 erasures" in out
    assert "Counted 0 new records and 0 erasures in all." in out


@REGIONAL
def test_sample_decisions_are_written_to_the_sites_database(regional_site, home_site):
    added = add_sample_decisions(regional_site, days=3)
    assert added
    samples = ConsentRecord.objects.using(REGION).filter(site_id=regional_site.pk, user_agent=SAMPLE_AGENT)
    assert samples.count() == added
    assert ConsentState.objects.using(REGION).filter(site_id=regional_site.pk).exists()
    assert DailyImpressions.objects.using(REGION).filter(site_id=regional_site.pk).exists()
    for model in (ConsentRecord, ConsentState, DailyImpressions):
        assert not model.objects.using("default").filter(site_id=regional_site.pk).exists(), model.__name__
    assert add_sample_decisions(regional_site, days=3) == 0  # once only
    figures = consent_figures(site=regional_site, start=TODAY - timedelta(days=3), end=TODAY)
    assert sum(r.decisions for r in figures.rates) == added


@REGIONAL
def test_a_banner_shown_on_a_regional_site_is_counted_in_its_database(client, regional_site):
    url = f"/api/v1/sites/{regional_site.key}/impressions"
    for _ in range(2):
        response = client.post(
            url, {"language": "en"}, content_type="application/json", headers={"Origin": "https://shop.example.us"}
        )
        assert response.status_code == 204
    assert DailyImpressions.objects.using(REGION).get(site_id=regional_site.pk).count == 2
    assert not DailyImpressions.objects.using("default").exists()
