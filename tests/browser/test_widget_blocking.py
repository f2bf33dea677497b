"""Blocked elements (docs/integration.md, "Blocking trackers"): run or load only once allowed, in
document order, once each, including elements other scripts add later."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import banner, open_shop, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADD_LATE = """(name) => {
  const script = document.createElement('script');
  script.type = 'text/plain';
  script.dataset.category = 'analytics';
  script.nonce = 's3cr3t-n0nce';
  script.text = `log.push('${name}')`;
  document.querySelector('main').append(script);
  const frame = document.createElement('iframe');
  frame.dataset.category = 'marketing';
  frame.dataset.src = '/ext/ad.html?' + name;
  frame.title = name;
  document.body.append(frame);
}"""


def test_nothing_loads_before_consent_and_only_allowed_categories_after(shop, page):
    open_shop(page, shop)
    expect(banner(page)).to_be_visible()
    expect(page.locator("iframe[data-category]")).not_to_have_attribute("src")
    expect(page.locator("img[data-category]")).not_to_have_attribute("src")
    assert page.evaluate("CMP.setConsent({analytics: true})") is None
    wait_until(lambda: len(page.evaluate("log")) == 2)
    assert page.evaluate("log") == ["inline-analytics", "external-analytics"]
    expect(page.locator("iframe[data-category]")).not_to_have_attribute("src")
    assert shop.tracker_hits() == ["/ext/analytics.js"]

    page.evaluate("CMP.setConsent({marketing: true})")
    wait_until(lambda: len(page.evaluate("log")) == 3)
    page.locator("img[data-category]").evaluate("(img) => img.decode().catch(() => null)")
    expect(page.locator("iframe[data-category]")).to_have_attribute("src", "/ext/ad.html")
    expect(page.locator("img[data-category]")).to_have_attribute("src", "/ext/pixel.gif")
    wait_until(lambda: {"/ext/ad.html", "/ext/pixel.gif"} <= set(shop.tracker_hits()))

    # Each ran once, whatever decisions follow.
    page.evaluate("CMP.acceptAll()")
    wait_until(lambda: len(page.evaluate("log")) == 4)
    page.evaluate("CMP.acceptAll()")
    assert page.evaluate("log") == ["inline-analytics", "external-analytics", "inline-marketing", "inline-preferences"]
    assert shop.tracker_hits().count("/ext/analytics.js") == 1


def test_an_external_script_runs_before_the_inline_one_after_it(shop, page):
    open_shop(page, shop)
    page.evaluate("""() => {
      const main = document.querySelector('main');
      for (const [src, text] of [['/ext/analytics.js', ''], ['', "log.push('after-external')"]]) {
        const s = document.createElement('script');
        s.type = 'text/plain'; s.dataset.category = 'analytics'; s.nonce = 's3cr3t-n0nce';
        if (src) s.src = src; else s.text = text;
        main.append(s);
      }
    }""")
    page.evaluate("CMP.setConsent({analytics: true})")
    wait_until(lambda: len(page.evaluate("log")) == 4)
    assert page.evaluate("log") == ["inline-analytics", "external-analytics", "external-analytics", "after-external"]


def test_elements_added_later_obey_the_same_rule(shop, page):
    open_shop(page, shop)
    page.evaluate(ADD_LATE, "late-before")
    page.wait_for_timeout(200)
    assert "late-before" not in page.evaluate("log")
    expect(page.locator("iframe[title=late-before]")).not_to_have_attribute("src")

    page.evaluate("CMP.acceptAll()")
    wait_until(lambda: "late-before" in page.evaluate("log"))
    page.evaluate(ADD_LATE, "late-after")
    wait_until(lambda: "late-after" in page.evaluate("log"))
    wait_until(lambda: page.locator("iframe[title=late-after]").get_attribute("src"))
    assert page.evaluate("log").count("late-before") == 1
    assert page.evaluate("log").count("late-after") == 1
    assert page.evaluate("cspViolations") == []


def test_a_refused_category_stays_blocked_for_late_elements(shop, page):
    open_shop(page, shop)
    page.evaluate("CMP.setConsent({marketing: true})")
    page.evaluate(ADD_LATE, "late-analytics")
    wait_until(lambda: page.locator("iframe[title=late-analytics]").get_attribute("src"))
    assert "late-analytics" not in page.evaluate("log")
    assert "/ext/analytics.js" not in shop.tracker_hits()
