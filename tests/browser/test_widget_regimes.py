"""Regional regimes in the browser, with the visitor's region told by the CDN's headers: the opt-in
banner for an EU visitor or an unknown region, the opt-out regime's "Your Privacy Choices" and the
IAB's GPP API for a Californian (with and without Global Privacy Control), the notice elsewhere."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import expect

from consent.models import ConsentRecord, ShownConfiguration
from tests.browser.conftest import (
    NONCE,
    banner,
    cookie_names,
    dialog,
    eventually,
    open_shop,
    read,
    wait_for_cookie,
    wait_for_records,
    wait_until,
)
from tests.browser.test_widget_accessibility import axe_violations
from tests.browser.test_widget_banner import ALL
from tests.staff import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOT_MARKETING = ["inline-analytics", "external-analytics", "inline-preferences"]
ADS = {"/ext/ad.html", "/ext/pixel.gif"}
GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
OPT_OUT_TITLE = "Do Not Sell or Share My Personal Information"
NOTICE_DESCRIPTION = "We use cookies for the site to work, for statistics and for marketing."
# A required category's script, which runs under every regime.
AUTHENTICATION = f"""<script type="text/plain" data-category="authentication" nonce="{NONCE}">
log.push('inline-authentication')</script>"""


@pytest.fixture(autouse=True)
def cdn(settings):
    """The CMP server reads the visitor's region from the headers its CDN sets (the live server runs
    in this process, with these settings)."""
    settings.CMP_COUNTRY_HEADER = "HTTP_X_COUNTRY"
    settings.CMP_REGION_HEADER = "HTTP_X_REGION"


def visitor(context, shop, country="", region="", gpc=False):
    """A new page in `context` for a visitor whose requests to the CMP server arrive with their
    country and region (as a CDN in front of it adds them), and whose browser sends Global Privacy
    Control if `gpc`.

    The headers are added to the CMP server's requests alone, by a route, not with the context's
    extra_http_headers: Chromium sends those from the page itself, so the decision POST's CORS
    preflight asks for X-Country and the server (rightly) refuses it. A routed request gets them past
    the browser's CORS checks, as a CDN's headers are. Playwright answers the preflight of an
    intercepted request itself, so CORS is tested elsewhere (test_widget_banner.py), not here.
    Python route handlers run only while Playwright is waited on: wait for the server with page=."""
    headers = {"X-Country": country, "X-Region": region, "Sec-GPC": "1" if gpc else ""}
    headers = {name: value for name, value in headers.items() if value}
    if headers:
        context.route(f"{shop.api}/**", lambda route: route.continue_(headers={**route.request.headers, **headers}))
    if gpc:
        context.add_init_script(GPC)
    return context.new_page()


def privacy_choices(page):
    """The opt-out regime's floating button."""
    return page.locator("cmp-banner").get_by_role("button", name="Your Privacy Choices")


def notice(page):
    return page.locator("cmp-banner").get_by_role("region", name="Your privacy")


def gpp(page, command, parameter=None):
    """What window.__gpp answers (GPP 1.1: to a callback, with whether it succeeded)."""
    answer = page.evaluate(
        "([command, parameter]) => new Promise((resolve) =>"
        " __gpp(command, (data, success) => resolve({data, success}), parameter))",
        [command, parameter],
    )
    assert answer["success"], f"__gpp({command!r}, ..., {parameter!r}) failed"
    return answer["data"]


def cmp_requests(page, shop) -> list[str]:
    """The page's requests to the CMP server from now on, as "METHOD path"."""
    seen = []
    page.on(
        "request",
        lambda r: seen.append(f"{r.method} {r.url.removeprefix(shop.api)}") if r.url.startswith(shop.api) else None,
    )
    return seen


def test_an_eu_visitor_gets_the_banner_and_nothing_runs_before_accepting(shop, context):
    page = visitor(context, shop, country="DE")
    requested = cmp_requests(page, shop)
    open_shop(page, shop)
    expect(banner(page)).to_be_visible()
    assert page.evaluate("CMP.regime") == "opt_in"
    assert page.evaluate("log") == [] and shop.tracker_hits() == []
    banner(page).get_by_role("button", name="Accept all").click()
    wait_until(lambda: len(page.evaluate("log")) == 4)
    assert page.evaluate("log") == ALL
    wait_until(lambda: set(shop.tracker_hits()) >= ADS)

    (record,) = wait_for_records(wait_for_cookie(context, shop)["id"], page=page)
    assert (record.regime, record.region, record.country) == ("opt_in", "DE", "DE")
    assert record.action == "accept_all" and record.source == "banner"
    # Everything has loaded by now: an EU visitor never loads the opt-out regime's script.
    expect(privacy_choices(page)).to_have_count(0)
    assert page.evaluate("typeof window.__gpp") == "undefined"
    assert not any("/cmp/regime.js" in request for request in requested)


def test_a_californian_is_tracked_until_opting_out_in_your_privacy_choices(shop, context):
    page = visitor(context, shop, country="US", region="CA")
    open_shop(page, shop)
    expect(privacy_choices(page)).to_be_visible()
    wait_until(lambda: len(page.evaluate("log")) == 4)
    assert page.evaluate("log") == ALL  # at once, with no banner
    expect(banner(page)).to_have_count(0)
    assert page.evaluate("CMP.regime") == "opt_out" and page.evaluate("CMP.getConsent()") is None

    ping = gpp(page, "ping")
    assert (ping["applicableSections"], ping["signalStatus"]) == ([8], "ready")
    assert gpp(page, "getField", "usca.SaleOptOut") == 2  # told, not opted out
    before = ping["gppString"]

    privacy_choices(page).click()
    choices = dialog(page, title=OPT_OUT_TITLE)
    expect(choices).to_be_visible()
    for name in ("Preferences", "Analytics", "Marketing"):
        expect(choices.get_by_role("switch", name=name)).to_be_checked()
    choices.get_by_role("button", name="Opt out", exact=True).click()
    expect(choices.get_by_role("status")).to_have_text(
        "You have opted out of the sale and sharing of your personal information."
    )
    expect(choices.get_by_role("switch", name="Marketing")).not_to_be_checked()
    expect(choices.get_by_role("switch", name="Analytics")).to_be_checked()

    cookie = wait_for_cookie(context, shop)
    (record,) = wait_for_records(cookie["id"], page=page)
    assert (record.regime, record.region) == ("opt_out", "US-CA")
    assert (record.action, record.source, record.gpc) == ("custom", "preferences", False)
    assert record.categories == {"authentication": True, "preferences": True, "analytics": True, "marketing": False}
    assert record.shown  # what the dialog showed, kept as proof
    shown = read(lambda: ShownConfiguration.objects.get(site=shop.site, digest=record.shown))
    assert shown.content["regime"] == "opt_out" and shown.content["language"] == "en"

    assert page.evaluate("CMP.isAllowed('marketing')") is False
    assert gpp(page, "getField", "usca.SaleOptOut") == 1
    assert gpp(page, "getSection", "usca")["SharingOptOut"] == 1
    assert gpp(page, "ping")["gppString"] != before
    choices.get_by_role("button", name="Close").click()
    expect(choices).to_be_hidden()
    expect(privacy_choices(page)).to_be_visible()
    assert page.evaluate("cspViolations") == []

    page.reload()  # the opt-out holds: marketing stays blocked
    expect(privacy_choices(page)).to_be_visible()
    wait_until(lambda: len(page.evaluate("log")) == 3)
    assert page.evaluate("log") == NOT_MARKETING
    assert gpp(page, "getField", "usca.SaleOptOut") == 1


def test_a_californian_sending_gpc_is_opted_out_at_once(shop, context):
    page = visitor(context, shop, country="US", region="CA", gpc=True)
    open_shop(page, shop)
    expect(privacy_choices(page)).to_be_visible()
    wait_until(lambda: len(page.evaluate("log")) == 3)
    assert page.evaluate("log") == NOT_MARKETING
    expect(banner(page)).to_have_count(0)

    cookie = wait_for_cookie(context, shop)
    assert cookie["src"] == "gpc" and cookie["c"]["marketing"] == 0
    (record,) = wait_for_records(cookie["id"], page=page)
    assert (record.regime, record.region, record.source, record.gpc) == ("opt_out", "US-CA", "gpc", True)
    assert record.categories == {"authentication": True, "preferences": True, "analytics": True, "marketing": False}
    assert gpp(page, "getField", "usca.SaleOptOut") == 1
    assert gpp(page, "getField", "usca.Gpc") is True

    privacy_choices(page).click()
    choices = dialog(page, title=OPT_OUT_TITLE)
    expect(choices).to_be_visible()
    expect(choices.get_by_role("status")).to_contain_text("Global Privacy Control signal was honoured as an opt-out")
    marketing = choices.get_by_role("switch", name="Marketing")
    expect(marketing).not_to_be_checked()
    expect(marketing).to_be_disabled()
    assert not ADS & set(shop.tracker_hits())
    assert page.evaluate("cspViolations") == []


def test_an_unknown_region_gets_the_strictest_regime_the_site_uses(shop, context):
    page_with_trackers = shop.page
    shop.page = lambda: page_with_trackers().replace("</main>", AUTHENTICATION + "</main>")
    page = visitor(context, shop)  # no header: the CDN did not know
    open_shop(page, shop)
    expect(banner(page)).to_be_visible()
    wait_until(lambda: page.evaluate("log") == ["inline-authentication"])
    assert page.evaluate("CMP.regime") == "opt_in"
    banner(page).get_by_role("button", name="Reject all").click()
    (record,) = wait_for_records(wait_for_cookie(context, shop)["id"])
    assert (record.regime, record.region, record.action) == ("opt_in", "", "reject_all")
    assert page.evaluate("log") == ["inline-authentication"] and shop.tracker_hits() == []


def test_a_notice_region_runs_everything_and_the_notice_goes_once_dismissed(shop, context):
    shop.site.default_regime = "notice"
    shop.site.save()
    page = visitor(context, shop, country="JP")
    requested = cmp_requests(page, shop)
    open_shop(page, shop)
    expect(notice(page)).to_be_visible()
    # It informs, and asks nothing: not the opt-in banner's "with your permission".
    expect(notice(page).get_by_text(NOTICE_DESCRIPTION)).to_be_visible()
    expect(notice(page)).not_to_contain_text("permission")
    wait_until(lambda: len(page.evaluate("log")) == 4)
    assert page.evaluate("log") == ALL
    assert page.evaluate("CMP.regime") == "notice"
    expect(banner(page)).to_have_count(0)
    notice(page).get_by_role("button", name="OK").click()
    expect(notice(page)).to_be_hidden()
    eventually(lambda: cookie_names(context, shop), lambda names: "cmp_notice" in names, what="the dismissal kept")

    page.reload()
    expect(page.locator("cmp-banner")).to_have_count(1)  # the notice's UI is built, and hidden
    expect(notice(page)).to_be_hidden()
    wait_until(lambda: len(page.evaluate("log")) == 4)
    assert page.evaluate("typeof window.__gpp") == "undefined"
    assert page.evaluate("CMP.getConsent()") is None
    assert not [request for request in requested if request.startswith("POST") and "/consents" in request]
    assert not read(lambda: ConsentRecord.objects.filter(site=shop.site).exists())
    assert page.evaluate("cspViolations") == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_in_your_privacy_choices_or_the_notice(shop, browser, scheme):
    # axe is injected as an inline script: these pages alone may bypass the shop's CSP.
    context = browser.new_context(bypass_csp=True, color_scheme=scheme, reduced_motion="reduce")
    page = open_shop(visitor(context, shop, country="US", region="CA"), shop)
    expect(privacy_choices(page)).to_be_visible()
    assert axe_violations(page) == []
    privacy_choices(page).click()
    expect(dialog(page, title=OPT_OUT_TITLE)).to_be_visible()
    assert axe_violations(page) == []
    context.close()

    shop.site.default_regime = "notice"
    shop.site.save()
    context = browser.new_context(bypass_csp=True, color_scheme=scheme, reduced_motion="reduce")
    page = open_shop(visitor(context, shop, country="JP"), shop)
    expect(notice(page)).to_be_visible()
    assert axe_violations(page) == []
    context.close()


def test_the_operator_previews_what_a_californian_sees_and_nothing_is_recorded(shop, context, page, client):
    sign_in_staff(client, User.objects.create_superuser("operator"))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": shop.api}])
    page.goto(f"{shop.api}/cmp/{shop.site.key}/preview")
    page.get_by_role("link", name="opt-out regime (a US state: Your Privacy Choices)").click()
    expect(privacy_choices(page)).to_be_visible()
    privacy_choices(page).click()
    choices = dialog(page, title=OPT_OUT_TITLE)
    choices.get_by_role("button", name="Opt out", exact=True).click()
    expect(choices.get_by_role("switch", name="Marketing")).not_to_be_checked()
    expect(page.locator("cmp-banner").get_by_role("region", name="Your privacy")).to_have_count(0)
    assert page.evaluate("CMP.regime") == "opt_out"
    assert read(lambda: ConsentRecord.objects.count()) == 0
    assert "cmp_consent" not in {cookie["name"] for cookie in context.cookies(shop.api)}
