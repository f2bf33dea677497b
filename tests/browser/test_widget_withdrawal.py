"""Withdrawal stops what already runs: the withdrawn category's cookies go, wherever this page can
see them set (this host and its parent domains, every path down to this page), and a site may
have the page reloaded, after the decision is on its way to the server."""

import pytest
from playwright.sync_api import expect

from consent.models import SiteOrigin
from tests.browser.conftest import (
    banner,
    cookie_names,
    dialog,
    eventually,
    open_shop,
    records,
    wait_for_cookie,
    wait_for_records,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_withdrawn_categorys_cookies_go_on_every_parent_domain_and_every_path(shop, page):
    # Chromium resolves *.localhost to this machine: a host with parent domains, on the shop's server.
    port = shop.server.server_port
    origin = f"http://a.b.shop.localhost:{port}"
    SiteOrigin.objects.create(site=shop.site, origin=origin)
    url = f"{origin}/a/b/page"
    planted = [
        ("_ga", {"domain": ".shop.localhost", "path": "/"}),
        ("_ga_X1", {"domain": ".b.shop.localhost", "path": "/a"}),
        ("_gid", {"domain": "a.b.shop.localhost", "path": "/a/b"}),  # host-only
        ("_gat_1", {"domain": ".a.b.shop.localhost", "path": "/a/b/page"}),
        ("_fbp", {"domain": ".shop.localhost", "path": "/a"}),  # marketing: refused already
        ("session", {"domain": ".shop.localhost", "path": "/"}),  # not a tracker's: kept
    ]
    page.context.add_cookies([{"name": name, "value": "1", **where} for name, where in planted])
    names = lambda: {c["name"] for c in page.context.cookies(url)}  # noqa: E731
    assert names() == {name for name, _ in planted}

    page.goto(url)
    banner(page).get_by_role("button", name="Customize").click()
    dialog(page).get_by_role("switch", name="Analytics").check()
    dialog(page).get_by_role("button", name="Save choices").click()
    eventually(names, lambda now: "_fbp" not in now and "_ga" in now, what="_fbp deleted, analytics kept")

    page.evaluate("CMP.setConsent({analytics: false})")
    eventually(names, lambda now: now == {"session", "cmp_consent"}, what="every analytics cookie deleted")


def test_with_reload_on_withdrawal_the_page_reloads_after_the_decision_is_sent(shop, page):
    shop.site.reload_on_withdrawal = True
    shop.site.save()
    open_shop(page, shop)
    page.evaluate("window.beforeWithdrawal = true")
    banner(page).get_by_role("button", name="Reject all").click()
    consent_id = wait_for_cookie(page.context, shop)["id"]
    page.evaluate("CMP.setConsent({analytics: true})")  # granting withdraws nothing: no reload
    page.evaluate("CMP.setConsent({marketing: true})")
    wait_for_records(consent_id, count=3)
    page.locator("cmp-banner").get_by_role("button", name="Cookie settings").click()  # a moment for a reload
    expect(dialog(page)).to_be_visible()
    page.keyboard.press("Escape")
    assert page.evaluate("window.beforeWithdrawal") is True

    with page.expect_navigation():
        page.evaluate("CMP.setConsent({analytics: false})")
    page.wait_for_function("window.CMP !== undefined")
    assert page.evaluate("window.beforeWithdrawal") is None
    # The reloaded page runs no analytics, and the decision reached the server.
    expect(page.locator("cmp-banner").get_by_role("button", name="Cookie settings")).to_be_visible()
    assert "inline-analytics" not in page.evaluate("log") and "inline-marketing" in page.evaluate("log")
    # (A request still on its way when the page went is sent again by the next: the server may hold
    # a decision twice, never none.)
    latest = eventually(
        lambda: records(consent_id)[-1], lambda r: r.categories["analytics"] is False, what="the withdrawal recorded"
    )
    assert latest.categories["marketing"] is True


def test_without_it_a_withdrawal_does_not_reload(shop, page):
    open_shop(page, shop)
    page.evaluate("CMP.acceptAll()")
    consent_id = wait_for_cookie(page.context, shop)["id"]
    page.evaluate("window.beforeWithdrawal = true")
    page.evaluate("CMP.setConsent({analytics: false})")
    wait_for_records(consent_id, count=2)
    assert page.evaluate("window.beforeWithdrawal") is True
    assert cookie_names(page.context, shop) >= {"cmp_consent"}
