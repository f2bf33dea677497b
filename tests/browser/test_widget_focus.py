"""WCAG 2.2 SC 2.4.11 Focus Not Obscured: while the banner shows at the bottom (or the top) of the
window, no element of the page that takes the focus is entirely hidden behind it."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NONCE, banner, open_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINKS = 60

LONG_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop</title>
<script src="{widget}" async nonce="{nonce}"></script>
</head>
<body>
<h1>Catalogue</h1>
{sections}
</body>
</html>
"""

SECTION = '<h2>Product {i}</h2><p>Something for sale, at some length. <a id="link-{i}" href="#{i}">Item {i}</a></p>'

# How much of the focused element shows outside the banner, within the window: 0 when it is
# entirely hidden behind the banner (or off screen).
UNCOVERED = """() => {
  const el = document.activeElement.getBoundingClientRect();
  const cover = document.querySelector('cmp-banner').shadowRoot.querySelector('.banner').getBoundingClientRect();
  const top = Math.max(el.top, 0), bottom = Math.min(el.bottom, innerHeight);
  const visible = Math.max(0, bottom - top);
  const covered = Math.max(0, Math.min(bottom, cover.bottom) - Math.max(top, cover.top));
  return visible - covered;
}"""


def next_frame(page):
    """Once the browser has laid out and painted the page at least once more."""
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


@pytest.mark.parametrize("position", ["bottom", "top"])
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_tabbing_through_the_page_never_hides_the_focus_behind_the_banner(shop, browser, position, width, height):
    shop.site.position = position
    shop.site.save()
    sections = "\n".join(SECTION.format(i=i) for i in range(LINKS))
    shop.page = lambda: LONG_PAGE.format(widget=shop.widget_url, nonce=NONCE, sections=sections)
    context = browser.new_context(viewport={"width": width, "height": height}, reduced_motion="reduce")
    page = open_shop(context.new_page(), shop)
    expect(banner(page)).to_be_visible()
    next_frame(page)

    hidden = []
    page.locator("#link-0").focus()
    for i in range(LINKS):
        if i:
            page.keyboard.press("Tab")
        expect(page.locator(f"#link-{i}")).to_be_focused()
        if page.evaluate(UNCOVERED) <= 0:
            hidden.append(i)
    assert hidden == [], f"{len(hidden)} of {LINKS} links were hidden behind the banner when focused"
    expect(banner(page)).to_be_visible()

    # The room is given back once the banner goes.
    root = page.locator("html")
    side = position
    assert root.evaluate(f"(el) => getComputedStyle(el).scrollPadding{side.title()}") != "auto"
    banner(page).get_by_role("button", name="Reject all").click()
    expect(banner(page)).to_be_hidden()
    expect(root).to_have_css(f"padding-{side}", "0px")
    expect(root).to_have_css(f"scroll-padding-{side}", "auto")
    context.close()
