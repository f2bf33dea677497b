"""The floating "cookie settings" button: there once the visitor has decided, out of the way, by
keyboard too; it opens the preferences, and is gone while the banner or the dialog shows."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, banner, dialog, open_shop, wait_for_cookie, wait_for_records
from tests.browser.test_widget_accessibility import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def settings_button(page):
    return page.locator("cmp-banner").get_by_role("button", name="Cookie settings")


def test_it_shows_after_a_decision_bottom_left_and_opens_the_preferences(shop, page):
    open_shop(page, shop)
    expect(banner(page)).to_be_visible()
    expect(settings_button(page)).to_be_hidden()  # no decision yet: the banner asks
    banner(page).get_by_role("button", name="Reject all").click()
    expect(settings_button(page)).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "settings-button.png")
    box = settings_button(page).bounding_box()
    viewport = page.viewport_size
    # Small, in the bottom left corner, clear of the edges.
    assert box["width"] <= 160 and 24 <= box["height"] <= 40
    assert 0 < box["x"] <= 24 and viewport["height"] - 40 <= box["y"] + box["height"] < viewport["height"]
    assert settings_button(page).evaluate("(el) => el.tagName") == "BUTTON"

    settings_button(page).click()
    expect(dialog(page)).to_be_visible()
    expect(settings_button(page)).to_be_hidden()
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()
    expect(settings_button(page)).to_be_visible()
    expect(settings_button(page)).to_be_focused()  # focus returns to what opened the dialog


def test_a_returning_visitor_has_it_and_the_keyboard_reaches_it_with_a_visible_focus_ring(shop, page):
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Accept all").click()
    wait_for_records(wait_for_cookie(page.context, shop)["id"])
    page.reload()
    expect(settings_button(page)).to_be_visible()
    expect(banner(page)).to_have_count(0)

    # The widget's UI is the page's last element: Shift+Tab from the start wraps round to it.
    page.keyboard.press("Shift+Tab")
    expect(settings_button(page)).to_be_focused()
    expect(settings_button(page)).to_have_css("outline-style", "solid")
    expect(settings_button(page)).to_have_css("outline-width", "3px")
    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    expect(settings_button(page)).to_be_hidden()
    dialog(page).get_by_role("switch", name="Analytics").uncheck()
    dialog(page).get_by_role("button", name="Save choices").click()
    expect(dialog(page)).to_be_hidden()
    expect(settings_button(page)).to_be_visible()
    wait_for_cookie(page.context, shop, lambda c: c["c"]["analytics"] == 0, what="analytics withdrawn")


def test_right_puts_it_bottom_right(shop, page):
    shop.site.settings_button = "right"
    shop.site.save()
    open_shop(page, shop)
    page.evaluate("CMP.acceptAll()")
    expect(settings_button(page)).to_be_visible()
    box = settings_button(page).bounding_box()
    width = page.viewport_size["width"]
    assert width - 24 <= box["x"] + box["width"] < width


def test_off_shows_none(shop, page):
    shop.site.settings_button = "off"
    shop.site.save()
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Accept all").click()
    expect(banner(page)).to_be_hidden()
    expect(settings_button(page)).to_have_count(0)
    page.evaluate("CMP.showPreferences()")  # the site's own link still opens the dialog
    expect(dialog(page)).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()
    expect(settings_button(page)).to_have_count(0)


def test_it_hides_while_the_banner_asks_again_after_forget_me(shop, page):
    open_shop(page, shop)
    page.evaluate("CMP.acceptAll()")
    expect(settings_button(page)).to_be_visible()
    settings_button(page).click()
    dialog(page).get_by_role("button", name="Forget me").click()
    expect(banner(page)).to_be_visible()
    expect(settings_button(page)).to_be_hidden()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_with_the_button(shop, browser, scheme):
    # axe is injected as an inline script: this page alone may bypass the shop's CSP.
    context = browser.new_context(bypass_csp=True, color_scheme=scheme, reduced_motion="reduce")
    page = open_shop(context.new_page(), shop)
    page.evaluate("CMP.rejectAll()")
    expect(settings_button(page)).to_be_visible()
    assert axe_violations(page) == []
    context.close()
