"""No decision is lost: applied at once, queued locally, sent until the server has it."""

import pytest

from tests.browser.conftest import banner, open_shop, records, wait_for_cookie, wait_for_records, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def block_api(page, shop):
    pattern = f"{shop.api}/api/v1/**"
    page.route(pattern, lambda route: route.abort("internetdisconnected"))
    return pattern


def test_a_decision_made_offline_is_applied_at_once_and_sent_when_back_online(shop, page):
    pattern = block_api(page, shop)
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Accept all").click()
    wait_until(lambda: len(page.evaluate("log")) == 4)  # applied without the server
    consent_id = wait_for_cookie(page.context, shop)["id"]
    pending = page.evaluate("JSON.parse(localStorage.getItem('cmp_pending'))")
    assert [item["body"]["consent_id"] for item in pending] == [consent_id]
    assert records(consent_id) == []

    page.unroute(pattern)
    page.evaluate("dispatchEvent(new Event('online'))")
    (record,) = wait_for_records(consent_id)
    assert record.action == "accept_all"
    wait_until(lambda: page.evaluate("localStorage.getItem('cmp_pending') === null"))


def test_a_page_opened_later_sends_what_an_offline_page_could_not(shop, context):
    page = context.new_page()
    block_api(page, shop)
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Reject all").click()
    consent_id = wait_for_cookie(context, shop)["id"]
    page.close()
    assert records(consent_id) == []

    later = open_shop(context.new_page(), shop)
    (record,) = wait_for_records(consent_id)
    assert record.action == "reject_all"
    wait_until(lambda: later.evaluate("localStorage.getItem('cmp_pending') === null"))


def test_a_server_error_is_retried(shop, page):
    failures = []

    def fail_twice(route):
        if len(failures) < 2 and route.request.method == "POST":
            failures.append(route.request.url)
            return route.fulfill(status=503, body="busy", headers={"Access-Control-Allow-Origin": shop.origin})
        return route.continue_()

    page.route(f"{shop.api}/api/v1/sites/*/consents", fail_twice)
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Accept all").click()
    consent_id = wait_for_cookie(page.context, shop, page=page)["id"]
    wait_for_records(consent_id, page=page)
    assert len(failures) == 2
