"""Accessibility and layout: keyboard use, the dialog pattern, axe-core, phone and desktop."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    ARTIFACTS,
    AXE,
    banner,
    dialog,
    open_shop,
    stored_cookie,
    wait_for_cookie,
    wait_for_records,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def focused(page):
    """The focused element inside the widget's shadow root (the host page's is page.locator(...))."""
    return page.locator("cmp-banner :focus")


def focus_within(part):
    """part (banner(page), dialog(page)) when it or an element inside it has the focus."""
    return part.and_(part.page.locator(":focus-within"))


def test_keyboard_alone_decides_and_the_dialog_traps_and_returns_focus(shop, page):
    open_shop(page, shop)
    expect(banner(page)).to_be_visible()
    expect(focus_within(banner(page))).to_have_count(1)  # focus moved into the banner
    for text in ["Cookie policy", "Accept all", "Reject all", "Customize"]:
        page.keyboard.press("Tab")
        expect(focused(page)).to_have_text(text)
    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    for _ in range(12):  # round and round, never leaving the dialog
        page.keyboard.press("Tab")
        expect(focus_within(dialog(page))).to_have_count(1)
    page.keyboard.press("Shift+Tab")
    expect(focus_within(dialog(page))).to_have_count(1)

    page.keyboard.press("Escape")  # closes without deciding: the banner asks again
    expect(dialog(page)).to_be_hidden()
    expect(banner(page)).to_be_visible()
    expect(focused(page)).to_have_text("Customize")
    assert stored_cookie(page.context, shop) is None

    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    expect(focused(page)).to_have_text("×")
    # Each switch, then its category's cookie list (Strictly necessary is disabled and lists none).
    page.keyboard.press("Tab")  # Preferences
    page.keyboard.press("Tab")  # its cookies
    page.keyboard.press("Tab")  # Analytics
    page.keyboard.press("Space")
    expect(dialog(page).get_by_role("switch", name="Analytics")).to_be_checked()
    for _ in range(4):  # its cookies, Marketing, its cookies, Save choices
        page.keyboard.press("Tab")
    expect(focused(page)).to_have_text("Save choices")
    page.keyboard.press("Enter")
    cookie = wait_for_cookie(page.context, shop)
    assert cookie["c"]["analytics"] == 1 and cookie["c"]["marketing"] == 0
    wait_for_records(cookie["id"])

    # From the page's "Cookie settings" link and back to it.
    page.focus("#settings")
    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    expect(focus_within(dialog(page))).to_have_count(1)
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()
    expect(banner(page)).to_be_hidden()
    expect(page.locator("#settings")).to_be_focused()


def axe_violations(page) -> list:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_with_the_banner_or_the_dialog(shop, browser, scheme):
    # axe is injected as an inline script: this page alone may bypass the shop's CSP.
    context = browser.new_context(bypass_csp=True, color_scheme=scheme, reduced_motion="reduce")
    page = open_shop(context.new_page(), shop)
    expect(banner(page)).to_be_visible()
    assert axe_violations(page) == []
    banner(page).get_by_role("button", name="Customize").click()
    expect(dialog(page)).to_be_visible()
    assert axe_violations(page) == []
    context.close()


@pytest.mark.parametrize(("device", "width", "height"), [("phone", 390, 844), ("desktop", 1280, 800)])
def test_layout_at_phone_and_desktop_widths(shop, browser, device, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, reduced_motion="reduce")
    page = open_shop(context.new_page(), shop)
    expect(banner(page)).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"banner-{device}.png")

    box = banner(page).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
    accept = banner(page).get_by_role("button", name="Accept all")
    reject = banner(page).get_by_role("button", name="Reject all")
    a, r = accept.bounding_box(), reject.bounding_box()
    assert (round(a["width"]), round(a["height"])) == (round(r["width"]), round(r["height"]))
    assert a["height"] >= 44
    style = "(el) => { const s = getComputedStyle(el); return [s.fontWeight, s.fontSize, s.backgroundColor, s.color]; }"
    assert accept.evaluate(style) == reject.evaluate(style)

    banner(page).get_by_role("button", name="Customize").click()
    expect(dialog(page)).to_be_visible()
    page.screenshot(path=ARTIFACTS / f"dialog-{device}.png")
    box = dialog(page).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    context.close()
