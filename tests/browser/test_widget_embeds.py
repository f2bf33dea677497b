"""Blocked iframes (docs/integration.md, "Blocked embeds") show a placeholder in their own box
while blocked: what they wait for, "Load this once" (records nothing) and "Always allow" (records
a decision). Loading them shifts nothing on the page, and the site's CSS cannot reach the placeholder."""

import pytest
from playwright.sync_api import expect

from tests.browser import conftest
from tests.browser.conftest import (
    ARTIFACTS,
    AXE,
    NONCE,
    banner,
    open_shop,
    stored_cookie,
    wait_for_cookie,
    wait_for_records,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What a site's stylesheet might do: a responsive 16:9 video box, and rules that would wreck any
# placeholder they could reach.
SITE_CSS = """
.video { position: relative; padding-bottom: 56.25%; height: 0; }
.video iframe { position: absolute; top: 0; left: 0; width: 100%; height: 100%; border: 0; }
p, button { display: none !important; }
"""

EMBEDS = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop</title>
<link rel="stylesheet" href="/ext/site.css">
<script src="{widget}" async nonce="{nonce}"></script>
</head>
<body>
<h1>Videos</h1>
<iframe data-category="marketing" data-src="/ext/ad.html?sized" title="Sized" width="560" height="315"></iframe>
<div class="video">
<iframe data-category="marketing" data-src="/ext/ad.html?responsive" title="Responsive"></iframe>
</div>
<iframe data-category="analytics marketing" data-src="/ext/ad.html?both" title="Both"></iframe>
<h2 id="below">Below the videos</h2>
</body>
</html>
"""


@pytest.fixture
def embeds(shop, monkeypatch):
    monkeypatch.setitem(conftest.ASSETS, "/ext/site.css", ("text/css", SITE_CSS))
    shop.page = lambda: EMBEDS.format(widget=shop.widget_url, nonce=NONCE)
    return shop


def frame(page, title):
    return page.frame_locator(f"iframe[title={title}]")


def boxes(page) -> dict:
    """Where each iframe and the heading below them are on the page (not in the window, which
    scrolls to what is clicked)."""
    return page.evaluate("""() => Object.fromEntries(
      ['iframe[title=Sized]', 'iframe[title=Responsive]', 'iframe[title=Both]', '#below'].map((selector) => {
        const box = document.querySelector(selector).getBoundingClientRect();
        return [selector, [box.x + scrollX, box.y + scrollY, box.width, box.height]];
      }))""")


def test_a_blocked_iframe_shows_what_it_waits_for_and_loads_once_without_a_decision(embeds, page):
    open_shop(page, embeds)
    expect(banner(page)).to_be_visible()
    sized = frame(page, "Sized")
    expect(sized.get_by_text("This content is blocked until you allow Marketing.")).to_be_visible()
    expect(sized.get_by_role("button", name="Always allow Marketing")).to_be_visible()
    expect(frame(page, "Both").get_by_text("until you allow Analytics, Marketing.")).to_be_visible()
    # The site's CSS hides every p and button of the page: the placeholder is out of its reach, and
    # its own stylesheet holds under the page's strict CSP.
    allow = sized.get_by_role("button", name="Always allow Marketing")
    assert allow.evaluate("(el) => getComputedStyle(el).backgroundColor") == "rgb(29, 78, 216)"
    assert sized.locator("html").get_attribute("lang") == "en"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "embed-placeholders.png", full_page=True)
    before = boxes(page)
    assert before["iframe[title=Sized]"][2:] == [564, 319]  # 560x315 in a 2px border
    width, height = before["iframe[title=Responsive]"][2:]
    assert height == pytest.approx(width * 0.5625, abs=1)

    sized.get_by_role("button", name="Load this once").click()
    expect(page.locator("iframe[title=Sized]")).to_have_attribute("src", "/ext/ad.html?sized")
    expect(sized.get_by_text("Ad", exact=True)).to_be_visible()
    assert boxes(page) == before  # nothing moved
    # Nothing was decided or recorded; the other embeds still wait.
    expect(banner(page)).to_be_visible()
    assert page.evaluate("CMP.getConsent()") is None
    assert stored_cookie(page.context, embeds) is None
    expect(page.locator("iframe[title=Responsive]")).not_to_have_attribute("src")
    expect(frame(page, "Responsive").get_by_role("button", name="Load this once")).to_be_visible()
    assert page.evaluate("cspViolations") == []


def test_always_allow_records_the_category_with_the_current_choices_and_loads_every_such_iframe(embeds, page):
    open_shop(page, embeds)
    page.evaluate("CMP.setConsent({preferences: true})")
    before = boxes(page)
    frame(page, "Responsive").get_by_role("button", name="Always allow Marketing").click()
    cookie = wait_for_cookie(page.context, embeds, lambda c: c["c"]["marketing"] == 1, what="marketing allowed")
    assert cookie["c"] == {"authentication": 1, "preferences": 1, "analytics": 0, "marketing": 1}
    assert cookie["src"] == "preferences"
    for title in ("Sized", "Responsive"):
        expect(page.locator(f"iframe[title={title}]")).to_have_attribute("src", f"/ext/ad.html?{title.lower()}")
        expect(frame(page, title).get_by_text("Ad", exact=True)).to_be_visible()
    # Analytics is still refused: the one that needs both keeps waiting.
    expect(page.locator("iframe[title=Both]")).not_to_have_attribute("src")
    assert boxes(page) == before
    records = wait_for_records(cookie["id"], count=2)
    assert records[1].action == "custom" and records[1].source == "preferences"
    assert records[1].categories == {"authentication": True, "preferences": True, "analytics": False, "marketing": True}


def test_an_iframe_added_later_gets_its_placeholder_and_allowing_it_elsewhere_removes_it(shop, page):
    open_shop(page, shop)
    expect(frame(page, "Advertisement").get_by_role("button", name="Load this once")).to_be_visible()
    page.evaluate("""() => {
      const late = document.createElement('iframe');
      late.dataset.category = 'analytics';
      late.dataset.src = '/ext/ad.html?late';
      late.title = 'Late';
      document.body.append(late);
    }""")
    expect(frame(page, "Late").get_by_text("This content is blocked until you allow Analytics.")).to_be_visible()
    banner(page).get_by_role("button", name="Accept all").click()
    expect(frame(page, "Late").get_by_text("Ad", exact=True)).to_be_visible()
    expect(frame(page, "Advertisement").get_by_text("Ad", exact=True)).to_be_visible()


def test_under_global_privacy_control_a_marketing_embed_offers_only_to_load_once(shop, context):
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    page = open_shop(context.new_page(), shop)
    advert = frame(page, "Advertisement")
    expect(advert.get_by_role("button", name="Load this once")).to_be_visible()
    expect(advert.get_by_role("button", name="Always allow Marketing")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_in_a_placeholder(shop, browser, scheme):
    # axe is injected as an inline script: this page alone may bypass the shop's CSP.
    context = browser.new_context(bypass_csp=True, color_scheme=scheme, reduced_motion="reduce")
    page = open_shop(context.new_page(), shop)
    expect(frame(page, "Advertisement").get_by_role("button", name="Load this once")).to_be_visible()
    placeholder = page.locator("iframe[title=Advertisement]").element_handle().content_frame()
    placeholder.add_script_tag(path=str(AXE))
    # Checked as part of the page: the rules for a whole page (its title, landmarks, first
    # heading) are the page's, not an embed's.
    page_rules = ["document-title", "landmark-one-main", "page-has-heading-one", "region"]
    rules = {rule: {"enabled": False} for rule in page_rules}
    result = placeholder.evaluate("(rules) => axe.run(document, {resultTypes: ['violations'], rules})", rules)
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]] == []
    context.close()
