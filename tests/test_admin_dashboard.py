"""The consent dashboard in the admin: staff only, the same figures as the service, as CSV too."""

import csv
import io
import uuid

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from consent.models import StatView
from consent.services.rollup import record_impression, rollup
from consent.services.sites import site_snapshot
from tests.factories import decide
from tests.test_services_stats import decide_in

URL = "/admin/consent/site/dashboard/"


@pytest.fixture
def staff(operator):
    """A marketer's view of the dashboard: a signed-in superuser (tests/conftest.py)."""
    return operator


@pytest.fixture
def figures(site):
    visitor = uuid.uuid4()
    decide(site, "accept_all", consent_id=visitor)
    decide(site, "custom", consent_id=visitor, analytics=True)  # changed their mind
    decide(site, "reject_all")
    decide(site, "custom", marketing=True)
    for _ in range(8):
        record_impression(site=site_snapshot(site.key), language="en")
    return site


def test_the_admin_index_links_the_dashboard(staff):
    response = staff.get("/admin/")
    assert response.status_code == 200
    assert reverse("admin:consent_dashboard").encode() in response.content


def test_the_dashboard_shows_rates_split_and_interaction(staff, figures):
    response = staff.get(URL, {"site": figures.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Showing: Decisions over time." in page
    rates = response.context["figures"].rates
    assert [(r.decisions, r.allowed["analytics"], r.allowed["marketing"]) for r in rates] == [(4, 2, 2)]
    assert [r.rate for r in response.context["interaction"]] == [50.0]  # 4 decisions / 8 banners
    assert '<svg class="chart" role="img"' in page
    assert "Opt-in rate per category (share of decisions that allow it)</caption>" in page
    assert '<th scope="col" class="num">analytics</th>' in page
    assert 'id="regime-note"' not in page  # every decision was made under opt-in


def test_current_view_counts_each_visitor_once(staff, figures):
    response = staff.get(URL, {"site": figures.pk, "view": StatView.CURRENT, "by": "language"})
    assert response.status_code == 200
    assert "Each visitor counts once" in response.content.decode()
    (row,) = response.context["figures"].rates
    assert (row.decisions, row.allowed["analytics"], row.allowed["marketing"]) == (3, 1, 1)
    assert [r.group for r in response.context["figures"].compared_rates] == [""]


def test_rolled_up_and_live_figures_agree(staff, figures):
    before = staff.get(URL, {"format": "csv"}).content
    rollup(now=timezone.now() + timezone.timedelta(minutes=5))
    decide(figures, "accept_all")
    after = list(csv.DictReader(io.StringIO(staff.get(URL, {"format": "csv"}).content.decode())))
    assert before != after
    assert [(r["decisions"], r["accept_all"], r["analytics_allowed"]) for r in after] == [("5", "2", "3")]


OPT_IN_LABEL = "Opt-in: ask first (GDPR)"
OPT_OUT_LABEL = "Opt-out: allowed until the visitor opts out (US state laws)"


@pytest.fixture
def regions(site):
    """Under opt-out in California, one visitor opts out of everything and one of marketing only;
    under opt-in, one in Germany accepts and one from an unknown region rejects."""
    decide_in(site, "US-CA", "reject_all")
    decide_in(site, "US-CA", "custom", analytics=True, preferences=True)
    decide_in(site, "DE", "accept_all")
    decide_in(site, "", "reject_all")
    return site


def test_the_dashboard_compares_regimes_and_says_what_an_opt_out_rate_means(staff, regions):
    response = staff.get(URL, {"site": regions.pk, "by": "regime"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h2>Compared by regime</h2>" in page
    rows = {label: (row.decisions, row.rates["analytics"]) for label, row in response.context["compared_rates"]}
    assert rows == {OPT_IN_LABEL: (2, 50.0), OPT_OUT_LABEL: (2, 50.0)}
    assert f'<th scope="row">{OPT_OUT_LABEL}</th><td class="num">2</td>' in page
    assert f'<th scope="row">{OPT_IN_LABEL}</th>' in page
    # The page says that an opt-out rate counts who did not opt out, and who is not counted.
    assert "there its rate is the share of decisions that did not opt out" in page
    assert "Under opt-out, it is the share that did not opt out of it" in page
    assert "never opens the privacy choices makes no decision and is not counted" in page
    assert "Compare by regime</a>" not in page  # it does already

    response = staff.get(URL, {"site": regions.pk, "by": "region", "view": StatView.CURRENT})
    page = response.content.decode()
    assert "<h2>Compared by region</h2>" in page
    assert [label for label, _ in response.context["compared_rates"]] == ["(unknown)", "DE", "US-CA"]
    assert "an opt-out never expires" in page
    assert "by=regime" in page and "Compare by regime</a>" in page


def test_the_csv_compares_by_regime_and_region(staff, regions):
    def exported(by):
        response = staff.get(URL, {"site": regions.pk, "format": "csv", "by": by})
        rows = csv.DictReader(io.StringIO(response.content.decode()))
        return {r["group"]: (r["decisions"], r["marketing_rate_pct"]) for r in rows if r["compare_by"]}

    assert exported("regime") == {"opt_in": ("2", "50.0"), "opt_out": ("2", "0.0")}
    assert exported("region") == {"": ("1", "0.0"), "DE": ("1", "100.0"), "US-CA": ("2", "0.0")}
    rollup(now=timezone.now() + timezone.timedelta(minutes=5))
    assert exported("regime") == {"opt_in": ("2", "50.0"), "opt_out": ("2", "0.0")}


def test_csv_has_the_same_figures(staff, figures):
    response = staff.get(URL, {"site": figures.pk, "format": "csv", "by": "policy_version"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 2
    series, compared = rows
    assert (series["decisions"], series["analytics_rate_pct"], series["reject_all"]) == ("4", "50.0", "1")
    assert (series["impressions"], series["interaction_rate_pct"]) == ("8", "50.0")
    assert (compared["compare_by"], compared["group"], compared["decisions"]) == ("policy_version", "1", "4")


def test_bad_filters_are_explained_not_failed(staff, site):
    response = staff.get(URL, {"start": "2026-02-01", "end": "2026-01-01", "granularity": "hour"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "The start date must not be after the end date." in page
    assert "Select a valid choice" in page


def test_non_staff_are_refused(client, figures):
    assert client.get(URL).status_code == 302  # to the login page
    user = User.objects.create_user("visitor", password="pw-123456789", is_staff=False)
    client.force_login(user)
    response = client.get(URL, {"format": "csv"})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
