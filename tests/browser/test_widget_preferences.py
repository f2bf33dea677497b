"""The preferences dialog names who is responsible and who receives data, and lists each
category's cookies, asked of the server only once the dialog opens."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import banner, dialog, open_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("contact", "href"),
    [
        ("privacy@shop.example", "mailto:privacy@shop.example"),
        ("https://shop.example/privacy", "https://shop.example/privacy"),
        ("Shop GmbH, Hauptstraße 1, Berlin", None),
    ],
)
def test_the_dialog_names_the_controller_and_the_recipients(shop, page, contact, href):
    shop.site.controller_name = "Shop GmbH"
    shop.site.controller_contact = contact
    shop.site.recipients = "Google Ireland Ltd.\nMeta Platforms Ireland Ltd.\n"
    shop.site.save()
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Customize").click()
    prefs = dialog(page)
    expect(prefs.get_by_text("Controller: Shop GmbH", exact=True)).to_be_visible()
    expect(prefs.get_by_text(f"Contact: {contact}", exact=True)).to_be_visible()
    recipients = "Recipients: Google Ireland Ltd., Meta Platforms Ireland Ltd."
    expect(prefs.get_by_text(recipients, exact=True)).to_be_visible()
    if href:
        expect(prefs.get_by_role("link", name=contact)).to_have_attribute("href", href)
    else:
        expect(prefs.get_by_role("link", name=contact)).to_have_count(0)


def test_a_site_that_names_nobody_shows_no_such_lines(shop, page):
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Customize").click()
    expect(dialog(page).get_by_role("switch", name="Analytics")).to_be_visible()
    for label in ("Controller:", "Contact:", "Recipients:"):
        expect(dialog(page).get_by_text(label)).to_have_count(0)


def test_each_categorys_cookies_are_fetched_once_when_the_dialog_first_opens(shop, page):
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/cookies") else None)
    with page.expect_request(lambda r: r.url.endswith("/impressions")):  # sent once the UI is built
        open_shop(page, shop)
    expect(banner(page)).to_be_visible()
    assert asked == []  # a visitor who never opens the dialog costs no request

    with page.expect_response(lambda r: r.url.endswith("/cookies")):
        banner(page).get_by_role("button", name="Customize").click()
    analytics = dialog(page).locator(".category").filter(has=page.get_by_role("switch", name="Analytics"))
    cookies = analytics.get_by_role("group")
    expect(cookies.get_by_text("Cookie (15)")).to_be_visible()
    cookies.get_by_text("Cookie (15)").click()
    ga = cookies.get_by_role("listitem").filter(has=page.get_by_text("_ga", exact=True))
    expect(ga).to_contain_text("Provider: Google", use_inner_text=True)
    expect(ga).to_contain_text("Purpose: ID used to identify users", use_inner_text=True)
    expect(ga).to_contain_text("Duration: 2 years", use_inner_text=True)
    expect(cookies.get_by_role("listitem")).to_have_count(15)
    # The switches and their short descriptions stay as they were.
    expect(analytics).to_contain_text("Count visits and see how the site is used", use_inner_text=True)

    page.keyboard.press("Escape")
    banner(page).get_by_role("button", name="Customize").click()
    expect(dialog(page)).to_be_visible()
    assert asked == [f"{shop.api}/api/v1/sites/{shop.site.key}/cookies"]
