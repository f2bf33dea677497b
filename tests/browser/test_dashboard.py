"""The consent dashboard and the banner preview in Debian's Chromium, logged in as staff."""

import csv
import io
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from consent.models import ConsentRecord
from consent.services.rollup import record_impression
from consent.services.sites import site_snapshot
from consent.services.staff import set_up_second_factor
from tests.browser.conftest import ARTIFACTS, banner
from tests.factories import decide, make_site
from tests.test_services_stats import record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"


def log_in(page, live_server, username="marketer", staff=True):
    user = User.objects.create_user(username, password=PASSWORD, is_staff=staff, is_superuser=staff)
    recovery_code = set_up_second_factor(user).recovery_codes[0]
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_otp_token", recovery_code)
    page.click("input[type=submit]")


@pytest.fixture
def shop(db):
    site = make_site(name="Shop", languages=["en", "de"])
    visitor = uuid.uuid4()
    decide(site, "accept_all", consent_id=visitor)
    decide(site, "custom", consent_id=visitor, analytics=True)
    decide(site, "reject_all")
    decide(site, "custom", preferences=True, marketing=True)
    for _ in range(10):
        record_impression(site=site_snapshot(site.key), language="en")
    return site


@pytest.fixture
def history(shop):
    """Two weeks of decisions before today, the opt-in rising, for a chart worth looking at."""
    today = timezone.now().date()
    for age in range(14, 0, -1):
        for n in range(10):
            action = "accept_all" if n < 3 + (14 - age) // 3 else ("reject_all" if n % 2 else "custom")
            record(shop, uuid.uuid4(), action, today - timedelta(days=age), analytics=n % 3 == 0)
    return shop


def test_the_dashboard_in_a_browser(live_server, page, history):
    log_in(page, live_server)
    page.wait_for_url("**/admin/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-index.png"))
    page.click("text=Consent dashboard")
    page.wait_for_url("**/admin/consent/site/dashboard/")
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("svg.chart polyline")).to_have_count(3)  # preferences, analytics, marketing
    expect(page.locator("#rates-table caption")).to_have_text(
        re.compile(r"^Opt-in rate per category"), use_inner_text=True
    )
    expect(page.locator("#rates-table tbody tr")).to_have_count(15)
    expect(page.locator("#rates-table tbody tr").last.locator("td").first).to_have_text("4", use_inner_text=True)
    expect(page.locator("#interaction-table tbody tr").last.locator("td").nth(2)).to_have_text(
        "40.0%", use_inner_text=True
    )

    page.select_option("#id_view", "current")
    page.select_option("#id_by", "language")
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_selector("#comparison-table")
    expect(page.locator("#view-note")).to_contain_text("Each visitor counts once", use_inner_text=True)
    expect(page.locator("#rates-table tbody tr").last.locator("td").first).to_have_text("3", use_inner_text=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#csv-link")
    with open(download.value.path(), encoding="utf-8") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read())))
    today = [
        (r["view"], r["decisions"], r["analytics_allowed"]) for r in rows if r["period"] == str(timezone.now().date())
    ]
    assert today == [("current", "3", "1")]


def test_the_banner_preview_and_the_colour_check(live_server, page, shop):
    log_in(page, live_server)
    page.wait_for_url("**/admin/")
    page.goto(f"{live_server.url}/admin/consent/site/{shop.pk}/change/")
    preview = page.frame_locator("#banner-preview")
    expect(banner(preview)).to_contain_text("Accept all", use_inner_text=True)
    banner(preview).get_by_role("button", name="Accept all").evaluate("(button) => button.click()")
    expect(banner(preview)).to_be_hidden()
    assert ConsentRecord.objects.count() == 4  # a choice in the preview is not recorded

    page.fill("#id_primary_colour", "#ffd700")
    page.click("input[name=_continue]")
    expect(page.locator(".errorlist").first).to_contain_text("it needs at least 4.5:1 (WCAG AA)", use_inner_text=True)
    # The answer with the errors is a whole new page: fill it once it has loaded, not while its
    # inlines are still being parsed (one run in ten lost the category's new name).
    page.wait_for_load_state("load")

    page.fill("#id_primary_colour", "#7a1f5c")
    page.fill("#id_categories-2-name_en", "Statistics")
    expect(page.locator("#id_primary_colour")).to_have_value("#7a1f5c")
    expect(page.locator("#id_categories-2-name_en")).to_have_value("Statistics")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    preview = page.frame_locator("#banner-preview")
    expect(banner(preview)).to_be_visible()
    colours = preview.locator("cmp-banner button").evaluate_all(
        "(buttons) => buttons.map((b) => getComputedStyle(b).backgroundColor)"
    )
    assert "rgb(122, 31, 92)" in colours
    page.screenshot(path=str(ARTIFACTS / "site-preview.png"), full_page=True)
    history = page.locator(".field-recent_changes")
    expect(history).to_contain_text("primary_colour", use_inner_text=True)
    expect(history).to_contain_text("name_en", use_inner_text=True)
    expect(history).not_to_contain_text("patterns", use_inner_text=True)  # untouched cookie names are no change


def test_a_user_who_is_not_staff_is_refused(live_server, page, shop):
    log_in(page, live_server, username="visitor", staff=False)
    expect(page.locator(".errornote")).to_contain_text("staff account", use_inner_text=True)
    page.goto(f"{live_server.url}/admin/consent/site/dashboard/")
    expect(page).to_have_url(re.compile(re.escape("/admin/login/")))
    expect(page.locator("svg.chart")).to_have_count(0)


def test_staff_pages_run_under_a_content_security_policy_without_violations(live_server, page, shop):
    log_in(page, live_server)
    page.wait_for_url("**/admin/")
    pages = [
        ("/admin/", "#content"),
        ("/admin/consent/site/dashboard/", "svg.chart"),
        (f"/admin/consent/site/{shop.pk}/change/", "#banner-preview"),
        ("/api/docs/", "text=Consent platform API"),
    ]
    for path, ready in pages:
        response = page.goto(live_server.url + path)
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        expect(page.locator(ready).first).to_be_visible()
        if path.endswith("/change/"):  # the framed banner preview has loaded as well
            expect(banner(page.frame_locator("#banner-preview"))).to_contain_text("Accept all")
        # Redoc would fetch its own logo from its CDN: blocked, as every third party is here.
        violations = [v for v in page.evaluate("cspViolations") if "cdn.redoc.ly" not in v]
        assert violations == [], path
