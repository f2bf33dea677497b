"""The embed tag in the site admin names this server, and its Copy button copies it."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_dashboard import log_in
from tests.factories import make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_embed_tag_names_this_server_and_copies(live_server, page):
    site = make_site(name="Shop")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, live_server)
    page.wait_for_url("**/admin/")
    page.goto(f"{live_server.url}/admin/consent/site/{site.pk}/change/")
    tag = f'<script src="{live_server.url}/cmp/{site.key}.js" async></script>'
    expect(page.locator("#embed-tag")).to_have_text(tag)
    page.locator('button[data-copy="#embed-tag"]').click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == tag
