"""The staff pages a marketer and an operator use pass axe-core like the widget does, and the
dashboard's tables show every column at common widths."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import AXE, banner, eventually
from tests.browser.test_dashboard import log_in
from tests.factories import make_site
from tests.test_services_stats import record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def axe_violations(page, context="document") -> list:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(f"axe.run({context}, {{resultTypes: ['violations']}})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]


@pytest.fixture
def sites(db):
    """Two sites with a week of decisions each, their categories named long enough to need room;
    half of the second site's visitors decide under opt-out, in California."""
    today = timezone.now().date()
    made = [make_site(name="Shop"), make_site(name="Shop", origins=("https://shop2.example",))]
    for site in made:
        for age in range(7, 0, -1):
            for n in range(4):
                action = ("accept_all", "reject_all", "custom", "withdraw")[n]
                where = {"regime": "opt_out", "region": "US-CA"} if site is made[1] and n % 2 else {}
                record(site, uuid.uuid4(), action, today - timedelta(days=age), analytics=n % 2 == 0, **where)
    return made


@pytest.fixture
def staff_page(browser, live_server):
    # axe is injected as an inline script: these pages alone may bypass the admin's CSP.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    log_in(page, live_server)
    page.wait_for_url("**/admin/")
    yield page
    context.close()


@pytest.mark.parametrize("by", ["site", "regime"])
def test_the_dashboard_has_no_axe_violation_and_no_clipped_column(live_server, staff_page, sites, by):
    page = staff_page
    for width in (1400, 1280, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/admin/consent/site/dashboard/?by={by}")
        expect(page.locator("#comparison-table")).to_be_visible()
        expect(page.locator("#regime-note")).to_be_visible()
        for table in ("#rates-table", "#split-table", "#comparison-table", "#comparison-split-table"):
            box = page.locator(table).locator("xpath=..")
            clipped = box.evaluate("(box) => box.scrollWidth > box.clientWidth + 1")
            assert not clipped, f"{table} is cut at {width} px"
    assert axe_violations(page) == []


def test_the_site_form_and_its_preview_have_no_axe_violation(live_server, staff_page, sites):
    page, shop = staff_page, sites[0]
    page.goto(f"{live_server.url}/admin/consent/site/{shop.pk}/change/")
    expect(banner(page.frame_locator("#banner-preview"))).to_be_visible()
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/cmp/{shop.key}/preview")
    expect(banner(page)).to_be_visible()
    assert axe_violations(page) == []


def test_the_preview_follows_unsaved_edits_and_shows_the_whole_banner(live_server, staff_page, sites):
    from consent.models import ShownConfiguration

    page, shop = staff_page, sites[0]
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/consent/site/{shop.pk}/change/")
    preview = page.frame_locator("#banner-preview")
    expect(banner(preview)).to_be_visible()
    kept = ShownConfiguration.objects.count()

    page.fill("#id_title_en", "Cookies, briefly")
    page.fill("#id_primary_colour", "#7a1f5c")
    edited = banner(preview, title="Cookies, briefly")
    expect(edited).to_be_visible()
    expect(edited.get_by_role("button", name="Accept all")).to_have_css("background-color", "rgb(122, 31, 92)")
    # The whole banner shows in the frame: its last button ends inside the frame's box.
    customize = edited.get_by_role("button", name="Customize")
    expect(customize).to_be_visible()

    # (The banner slides in, and the frame follows its height: both settle.)
    def fits() -> bool:
        frame_box, button_box = page.locator("#banner-preview").bounding_box(), customize.bounding_box()
        return button_box["y"] + button_box["height"] <= frame_box["y"] + frame_box["height"]

    eventually(fits, what="the Customize button inside the preview frame", page=page)

    shop.refresh_from_db()
    assert shop.banner_texts == {} and shop.primary_colour == "#1d4ed8"  # nothing saved
    assert ShownConfiguration.objects.count() == kept  # a draft is never kept as shown
