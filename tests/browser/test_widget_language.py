"""What the visitor reads, and the proof of it: the language the UI speaks (and says it speaks),
the policy line, and the digest of what was shown, sent with a choice made on the banner."""

import json
import re

import pytest
from playwright.sync_api import expect

from consent.services.config import banner_config
from consent.services.defaults import BANNER_TEXTS
from tests.browser.conftest import banner, eventually, open_shop, wait_for_cookie, wait_for_records
from tests.factories import make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_choice_on_the_banner_carries_the_digest_of_what_was_shown_in_its_language(shop, page):
    shop.lang = "de"
    sent = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/consents") else None)
    open_shop(page, shop)
    banner(page, title="Ihre Privatsphäre").get_by_role("button", name="Alle akzeptieren").click()
    page.evaluate("CMP.setConsent({marketing: false})")
    consent_id = wait_for_cookie(page.context, shop)["id"]
    shown = banner_config(shop.site.key)["shown"]
    assert shown["de"] != shown["en"]
    clicked, scripted = wait_for_records(consent_id, count=2)
    assert (clicked.language, clicked.shown) == ("de", shown["de"])
    assert (scripted.language, scripted.shown) == ("de", "")  # a page script's decision followed no banner
    eventually(lambda: sent, lambda bodies: len(bodies) == 2, what="both requests seen", page=page)
    assert [(body["language"], body.get("shown")) for body in sent] == [("de", shown["de"]), ("de", None)]


def test_the_ui_says_which_language_it_speaks_even_when_the_page_speaks_another(shop, page):
    shop.lang = "fr"  # the site has en and de; the browser asks for en-US
    open_shop(page, shop)
    expect(banner(page)).to_be_visible()
    expect(page.locator("cmp-banner")).to_have_attribute("lang", "en")
    assert banner(page).evaluate("(el) => el.matches(':lang(en)') && !el.matches(':lang(fr)')")


@pytest.mark.parametrize("tag", ["nb", "nn", "nb-NO"])
def test_norwegian_bokmal_and_nynorsk_read_the_sites_norwegian(shop, page, tag):
    site = make_site(name="Norsk", origins=(shop.origin,), languages=["en", "no"])
    shop.widget_url = f"{shop.api}/cmp/{site.key}.js"
    shop.lang = tag
    open_shop(page, shop)
    norwegian = banner(page, title="Ditt personvern")
    expect(norwegian).to_be_visible()
    expect(page.locator("cmp-banner")).to_have_attribute("lang", "no")
    norwegian.get_by_role("button", name=BANNER_TEXTS["no"]["rejectAll"]).click()
    (record,) = wait_for_records(wait_for_cookie(page.context, shop)["id"])
    assert (record.language, record.shown) == ("no", banner_config(site.key)["shown"]["no"])


@pytest.mark.parametrize(
    ("url", "updated", "line"),
    [
        ("https://shop.example/cookies", "2026-01-31", "Cookie policy · Last updated 2026-01-31"),
        ("", "2026-01-31", "Last updated 2026-01-31"),
        ("https://shop.example/cookies", "", "Cookie policy"),
        ("", "", None),
    ],
)
def test_the_policy_line_has_no_dangling_separator(shop, page, url, updated, line):
    """Whatever the policy has of a link and a date (the config is rewritten on its way here)."""

    def rewrite(route):
        script = route.fetch().text()
        policy = json.dumps({"version": 1, "required": 1, "url": url, "updated": updated}, separators=(",", ":"))
        route.fulfill(body=re.sub(r'"policy":\{[^}]*\}', lambda _: f'"policy":{policy}', script, count=1),
                      content_type="application/javascript")  # fmt: skip

    page.route(shop.widget_url, rewrite)
    open_shop(page, shop)
    expect(banner(page)).to_be_visible()
    description = "We use cookies for the site to work and, with your permission, for statistics and marketing."
    expect(banner(page).locator("p")).to_have_text([description, line] if line else [description])
