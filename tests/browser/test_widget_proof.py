"""What the widget tells the server it showed: the digest of the wording, for a choice made on it,
and nothing for a page script's decision; and no region's Consent Mode default grants marketing
under Global Privacy Control."""

import pytest
from playwright.sync_api import expect

from consent.services.config import banner_config
from tests.browser.conftest import banner, dialog, open_shop, wait_for_cookie, wait_for_records

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_choice_on_the_banner_names_what_it_showed_and_a_script_names_nothing(shop, context):
    page = open_shop(context.new_page(), shop)
    banner(page).get_by_role("button", name="Customize").click()
    dialog(page).get_by_role("button", name="Save choices").click()
    cookie = wait_for_cookie(context, shop)
    (record,) = wait_for_records(cookie["id"])
    assert (record.source, record.language, record.shown) == (
        "preferences",
        "en",
        banner_config(shop.site.key)["shown"]["en"],
    )

    page.evaluate("CMP.acceptAll()")
    records = wait_for_records(cookie["id"], count=2)
    assert (records[1].source, records[1].shown) == ("api", "")


def test_under_gpc_no_region_default_grants_marketing(shop, context):
    shop.site.consent_mode_regions = [{"region": ["US-CA"], "granted": ["analytics", "marketing"]}]
    shop.site.save()
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    page = open_shop(context.new_page(), shop)
    expect(banner(page)).to_be_visible()
    regional = page.evaluate("Array.from(dataLayer.find((e) => e[0] === 'consent' && e[2].region))")[2]
    assert regional["analytics_storage"] == "granted" and regional["ad_storage"] == "denied"
