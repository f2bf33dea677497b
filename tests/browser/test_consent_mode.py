"""Google Consent Mode v2, in order: with the synchronous stub first in <head>, Google's tags find the
default (and a stored decision) in the dataLayer before their own commands, whether the gtag snippet
comes before or after the async widget; every decision is also a dataLayer event for Tag Manager."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NONCE, banner, wait_for_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GTAG = f"""<script nonce="{NONCE}">
window.dataLayer = window.dataLayer || [];
function gtag() {{ dataLayer.push(arguments); }}
gtag('js', new Date());
gtag('config', 'G-TEST');
</script>"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
{head}
</head><body><main><h1>Shop</h1></main></body></html>"""


def with_head(shop, *parts: str) -> None:
    stub = f'<script src="{shop.api}/cmp/{shop.site.key}/consent-mode.js" nonce="{NONCE}"></script>'
    widget = f'<script src="{shop.widget_url}" async nonce="{NONCE}"></script>'
    tags = {"stub": stub, "gtag": GTAG, "widget": widget}
    shop.page = lambda: PAGE.format(head="\n".join(tags[part] for part in parts))


def data_layer(page) -> list:
    """Commands as lists, events as {"event": ..., "categories": ...}."""
    return page.evaluate(
        "dataLayer.map((e) => e.event ? {event: e.event, categories: e.cmp_categories} : Array.from(e))"
    )


def position(entries: list, *command) -> int:
    return next(i for i, e in enumerate(entries) if isinstance(e, list) and tuple(e[: len(command)]) == command)


def defaults(entries: list) -> list[dict]:
    return [e[2] for e in entries if isinstance(e, list) and e[:2] == ["consent", "default"]]


def events(entries: list) -> list[dict]:
    return [e for e in entries if isinstance(e, dict) and e["event"] == "cmp_consent_update"]


@pytest.mark.parametrize("order", [("stub", "gtag", "widget"), ("stub", "widget", "gtag")])
def test_the_default_comes_before_googles_commands_whatever_the_order_of_the_tags(shop, page, order):
    shop.site.consent_mode_regions = [{"region": ["US-CA"], "granted": ["analytics"]}]
    shop.site.url_passthrough = True
    shop.site.google_developer_id = "dTest123"
    shop.site.save()
    with_head(shop, *order)
    page.goto(shop.url)
    expect(banner(page)).to_be_visible()
    entries = data_layer(page)
    assert position(entries, "consent", "default") < position(entries, "js") < position(entries, "config")
    regional, everywhere = defaults(entries)  # one of each: the widget did not send a second default
    assert regional["region"] == ["US-CA"] and regional["analytics_storage"] == "granted"
    assert regional["ad_storage"] == "denied"
    assert everywhere["analytics_storage"] == "denied" and everywhere["wait_for_update"] == 500
    for setting in (
        ["set", "ads_data_redaction", True],
        ["set", "url_passthrough", True],
        ["set", "developer_id.dTest123", True],
    ):
        assert setting in entries[: position(entries, "js")]
    assert events(entries) == []

    banner(page).get_by_role("button", name="Accept all").click()
    expect(banner(page)).to_be_hidden()
    entries = data_layer(page)
    update = entries[position(entries, "consent", "update")][2]
    assert update["analytics_storage"] == update["ad_storage"] == "granted"
    (event,) = events(entries)
    assert event["categories"] == {"authentication": True, "preferences": True, "analytics": True, "marketing": True}


def test_a_stored_decision_reaches_google_before_its_tags_and_is_said_once(shop, page):
    with_head(shop, "stub", "gtag", "widget")
    page.goto(shop.url)
    banner(page).get_by_role("button", name="Customize").click()
    page.locator("cmp-banner").get_by_role("switch", name="Analytics").click()
    page.locator("cmp-banner").get_by_role("button", name="Save choices").click()
    wait_for_cookie(page.context, shop, until=lambda cookie: cookie["c"]["analytics"] == 1)

    page.reload()
    page.wait_for_function("window.CMP !== undefined")
    entries = data_layer(page)
    update = entries[position(entries, "consent", "update")][2]
    assert position(entries, "consent", "update") < position(entries, "js")
    assert update["analytics_storage"] == "granted" and update["ad_storage"] == "denied"
    assert defaults(entries)[0]["analytics_storage"] == "denied" and "wait_for_update" not in defaults(entries)[0]
    (event,) = events(entries)  # the stub said it; the widget, loading after, did not repeat it
    assert event["categories"]["analytics"] is True and event["categories"]["marketing"] is False


def test_without_the_stub_the_widget_still_sends_the_default_before_unblocking(shop, page):
    with_head(shop, "widget")
    page.goto(shop.url)
    expect(banner(page)).to_be_visible()
    entries = data_layer(page)
    assert len(defaults(entries)) == 1 and ["set", "ads_data_redaction", True] in entries
