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
