"""The banner against the live server, from a shop on another origin: deciding, remembering,
re-asking, Consent Mode, GPC, forgetting, languages."""

import hashlib
import json
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import expect

from consent.models import ConsentRecord, ConsentState, DailyImpressions
from consent.services.sites import publish_policy
from tests.browser.conftest import (
    banner,
    cookie_names,
    dialog,
    eventually,
    open_shop,
    read,
    records,
    stored_cookie,
    wait_for_cookie,
    wait_for_records,
    wait_until,
)
from tests.conftest import sign_in_staff
from tests.factories import decide

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALL = ["inline-analytics", "external-analytics", "inline-marketing", "inline-preferences"]
DEFAULT = {
    "analytics_storage": "denied",
    "ad_storage": "denied",
    "ad_user_data": "denied",
    "ad_personalization": "denied",
    "functionality_storage": "denied",
    "personalization_storage": "denied",
    "security_storage": "granted",
}


def data_layer(page) -> list:
    """The Consent Mode commands pushed so far (gtag() argument lists; events left out)."""
    return page.evaluate("(window.dataLayer || []).filter((entry) => !entry.event).map((entry) => Array.from(entry))")


def events(page) -> list:
    """The dataLayer events Tag Manager triggers fire on."""
    return page.evaluate("(window.dataLayer || []).filter((entry) => entry.event)")


REDACT = ["set", "ads_data_redaction", True]


def test_first_visit_shows_the_banner_and_blocks_everything(shop, page):
    beacons = []
    page.on("request", lambda request: beacons.append(request.url) if "/impressions" in request.url else None)
    open_shop(page, shop)
    expect(banner(page)).to_be_visible()
    expect(banner(page).get_by_role("heading")).to_have_text("Your privacy", use_inner_text=True)
    for name in ("Accept all", "Reject all", "Customize"):
        expect(banner(page).get_by_role("button", name=name)).to_be_visible()
    policy = banner(page).get_by_role("link", name="Cookie policy")
    expect(policy).to_have_attribute("href", shop.origin + "/policy")
    expect(banner(page)).to_contain_text("Last updated", use_inner_text=True)
    assert page.evaluate("CMP.getConsent()") is None
    assert page.evaluate("CMP.isAllowed('analytics')") is False
    assert page.evaluate("CMP.isAllowed('authentication')") is True
    assert page.evaluate("log") == []
    assert shop.tracker_hits() == []
    assert data_layer(page) == [["consent", "default", {**DEFAULT, "wait_for_update": 500}], REDACT]
    assert events(page) == []
    assert stored_cookie(page.context, shop) is None
    assert wait_until(lambda: beacons) == [f"{shop.api}/api/v1/sites/{shop.site.key}/impressions"]
    counted = wait_until(lambda: read(lambda: list(DailyImpressions.objects.filter(site=shop.site))))
    assert [(row.language, row.count) for row in counted] == [("en", 1)]


def test_accept_all_runs_trackers_in_order_stores_the_cookie_and_records(shop, page):
    open_shop(page, shop)
    page.evaluate("window.changes = []; addEventListener('cmp:change', (e) => changes.push(e.detail))")
    banner(page).get_by_role("button", name="Accept all").click()
    wait_until(lambda: len(page.evaluate("log")) == 4)
    assert page.evaluate("log") == ALL
    assert page.evaluate("modeAtRun") == ["consent default", "set ads_data_redaction", "consent update"]
    expect(banner(page)).to_be_hidden()
    wait_until(lambda: {"/ext/ad.html", "/ext/pixel.gif"} <= set(shop.tracker_hits()))

    cookie = wait_for_cookie(page.context, shop)
    assert set(cookie) == {"v", "id", "tk", "pv", "t", "exp", "src", "c"}
    # The visitor token the browser made with the id: the server holds only its hash.
    stored = wait_until(lambda: read(lambda: ConsentState.objects.filter(consent_id=cookie["id"]).first()))
    assert len(cookie["tk"]) == 24 and stored.token_hash == hashlib.sha256(cookie["tk"].encode()).hexdigest()
    assert cookie["v"] == 1 and cookie["pv"] == 1 and cookie["src"] == "banner"
    assert cookie["c"] == {"authentication": 1, "preferences": 1, "analytics": 1, "marketing": 1}
    assert cookie["exp"] - cookie["t"] == shop.site.consent_lifetime_days * 86400
    assert abs(cookie["t"] - time.time()) < 600

    consent = page.evaluate("CMP.getConsent()")
    assert consent["consentId"] == cookie["id"] and consent["source"] == "banner" and consent["policyVersion"] == 1
    assert all(consent["categories"].values())
    assert page.evaluate("changes") == [consent]
    assert data_layer(page)[-1] == ["consent", "update", {k: "granted" for k in DEFAULT}]
    assert events(page)[-1] == {
        "event": "cmp_consent_update",
        "cmp_categories": {"authentication": True, "preferences": True, "analytics": True, "marketing": True},
    }

    (record,) = wait_for_records(cookie["id"])
    assert record.action == "accept_all" and record.source == "banner" and record.language == "en"
    assert all(record.categories.values())
    assert record.url == shop.url


def test_reject_all_keeps_trackers_blocked_and_deletes_their_cookies(shop, page):
    open_shop(page, shop)
    page.evaluate("document.cookie = '_ga=GA1.1.1; path=/'; document.cookie = '_fbp=fb.1; path=/'")
    page.evaluate("document.cookie = 'session=keep; path=/'")
    banner(page).get_by_role("button", name="Reject all").click()
    cookie = wait_for_cookie(page.context, shop)
    assert cookie["c"] == {"authentication": 1, "preferences": 0, "analytics": 0, "marketing": 0}
    eventually(
        lambda: cookie_names(page.context, shop),
        lambda names: "_ga" not in names and "_fbp" not in names and "session" in names,
        what="_ga and _fbp deleted, session kept",
    )
    (record,) = wait_for_records(cookie["id"])
    assert record.action == "reject_all"
    assert record.categories == {"authentication": True, "preferences": False, "analytics": False, "marketing": False}
    assert page.evaluate("log") == [] and shop.tracker_hits() == []
    assert data_layer(page)[-1] == ["consent", "update", DEFAULT]


def test_custom_choice_in_the_preferences_dialog(shop, page):
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Customize").click()
    prefs = dialog(page)
    expect(prefs).to_be_visible()
    expect(banner(page)).to_be_hidden()
    necessary = prefs.get_by_role("switch", name="Strictly necessary")
    expect(necessary).to_be_checked()
    expect(necessary).to_be_disabled()
    for name in ("Preferences", "Analytics", "Marketing"):
        expect(prefs.get_by_role("switch", name=name)).not_to_be_checked()
    prefs.get_by_role("switch", name="Analytics").check()
    prefs.get_by_role("button", name="Save choices").click()
    expect(prefs).to_be_hidden()
    wait_until(lambda: len(page.evaluate("log")) == 2)
    assert page.evaluate("log") == ["inline-analytics", "external-analytics"]
    cookie = wait_for_cookie(page.context, shop)
    assert cookie["src"] == "preferences"
    assert cookie["c"] == {"authentication": 1, "preferences": 0, "analytics": 1, "marketing": 0}
    (record,) = wait_for_records(cookie["id"])
    assert record.action == "custom" and record.source == "preferences"
    assert record.categories == {"authentication": True, "preferences": False, "analytics": True, "marketing": False}

    # Withdrawal is as easy: reopen from the page's link, switch analytics off again.
    page.evaluate("document.cookie = '_ga=GA1.1.1; path=/'")
    page.locator("#settings").click()
    expect(prefs.get_by_role("switch", name="Analytics")).to_be_checked()
    prefs.get_by_role("switch", name="Analytics").uncheck()
    prefs.get_by_role("button", name="Save choices").click()
    wait_for_cookie(page.context, shop, lambda c: c["c"]["analytics"] == 0, what="analytics withdrawn in the cookie")
    eventually(lambda: cookie_names(page.context, shop), lambda names: "_ga" not in names, what="_ga deleted")
    second = wait_for_records(cookie["id"], count=2)[1]
    assert second.categories["analytics"] is False


def test_reload_applies_the_stored_decision_without_banner_or_network(shop, page):
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Accept all").click()
    wait_for_records(wait_for_cookie(page.context, shop)["id"])
    wait_until(lambda: page.evaluate("localStorage.getItem('cmp_pending') === null"))  # acknowledged
    api_calls = []
    page.on("request", lambda request: api_calls.append(request.url) if "/api/" in request.url else None)
    page.reload()
    page.wait_for_function("window.CMP !== undefined")
    wait_until(lambda: len(page.evaluate("log")) == 4)
    assert page.evaluate("log") == ALL
    expect(banner(page)).to_have_count(0)
    assert api_calls == []
    assert [entry[:2] for entry in data_layer(page)] == [["consent", "default"], REDACT[:2], ["consent", "update"]]
    assert "wait_for_update" not in data_layer(page)[0][2]
    assert page.evaluate("CMP.ready.then((consent) => consent.source)") == "banner"


def test_an_expired_decision_asks_again_and_unblocks_nothing(shop, context, page):
    past = int(time.time()) - 10
    stale = {
        "v": 1,
        "id": "2f1d3c4e-5b6a-4789-8abc-def012345678",
        "pv": 1,
        "t": past - 86400,
        "exp": past,
        "src": "banner",
        "c": {"authentication": 1, "preferences": 1, "analytics": 1, "marketing": 1},
    }
    value = urllib.parse.quote(json.dumps(stale), safe="")
    context.add_cookies([{"name": "cmp_consent", "value": value, "url": shop.origin}])
    open_shop(page, shop)
    expect(banner(page)).to_be_visible()
    assert page.evaluate("CMP.getConsent()") is None
    assert page.evaluate("log") == [] and shop.tracker_hits() == []
    banner(page).get_by_role("button", name="Reject all").click()
    cookie = wait_for_cookie(context, shop, lambda c: c != stale, what="the new decision's cookie")
    assert cookie["id"] == stale["id"]  # the same visitor, asked again


def test_a_material_policy_change_asks_again(shop, browser, context, page):
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Accept all").click()
    cookie = wait_for_cookie(context, shop)
    wait_for_records(cookie["id"])

    publish_policy(site=shop.site, material=False, summary="typo")
    later = browser.new_context()
    later.add_cookies([c for c in context.cookies(shop.origin) if c["name"] == "cmp_consent"])
    page = open_shop(later.new_page(), shop)
    wait_until(lambda: len(page.evaluate("log")) == 4)
    expect(banner(page)).to_have_count(0)  # a minor change does not ask again
    later.close()

    publish_policy(site=shop.site, material=True, summary="new partners")
    later = browser.new_context()
    later.add_cookies([c for c in context.cookies(shop.origin) if c["name"] == "cmp_consent"])
    page = open_shop(later.new_page(), shop)
    expect(banner(page)).to_be_visible()
    assert page.evaluate("log") == []
    banner(page).get_by_role("button", name="Accept all").click()
    wait_for_cookie(later, shop, lambda c: c["pv"] == 3, what="the cookie's policy version 3")
    assert wait_for_records(cookie["id"], count=2)[1].policy_version == 3
    later.close()


def test_global_privacy_control_refuses_marketing_and_says_so(shop, context):
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    page = open_shop(context.new_page(), shop)
    expect(banner(page)).to_be_visible()
    expect(banner(page)).to_contain_text("Global Privacy Control", use_inner_text=True)
    banner(page).get_by_role("button", name="Accept all").click()
    cookie = wait_for_cookie(context, shop)
    assert (cookie["src"], cookie["g"]) == ("banner", 1)  # the click's own source, and the signal beside it
    assert cookie["c"] == {"authentication": 1, "preferences": 1, "analytics": 1, "marketing": 0}
    wait_until(lambda: len(page.evaluate("log")) == 3)
    assert "inline-marketing" not in page.evaluate("log")
    assert not {"/ext/ad.html", "/ext/pixel.gif"} & set(shop.tracker_hits())
    assert data_layer(page)[-1][2]["ad_storage"] == "denied"
    (record,) = wait_for_records(cookie["id"])
    assert (record.source, record.gpc) == ("banner", True)
    assert record.categories["marketing"] is False and record.categories["analytics"]

    page.locator("#settings").click()
    marketing = dialog(page).get_by_role("switch", name="Marketing")
    expect(marketing).to_be_disabled()
    expect(marketing).not_to_be_checked()
    expect(dialog(page)).to_contain_text("Global Privacy Control", use_inner_text=True)


def test_forget_me_erases_the_records_and_asks_again_and_gives_the_receipt(shop, page):
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Accept all").click()
    consent_id = wait_for_cookie(page.context, shop)["id"]
    wait_for_records(consent_id)
    page.evaluate("document.cookie = '_ga=GA1.1.1; path=/'")
    page.evaluate("CMP.showPreferences()")
    # The receipt is fetched with the visitor token and saved as a file.
    with page.expect_download() as download:
        dialog(page).get_by_role("button", name="Receipt of my choice").click()
    receipt = json.loads(Path(download.value.path()).read_text())
    assert receipt["consent_id"] == consent_id and receipt["action"] == "accept_all" and receipt["signature"]
    assert download.value.suggested_filename == "consent-receipt.json"
    dialog(page).get_by_role("button", name="Forget me").click()
    expect(banner(page)).to_be_visible()
    expect(dialog(page)).to_be_hidden()
    eventually(lambda: stored_cookie(page.context, shop), lambda c: c is None, what="the consent cookie deleted")
    eventually(lambda: cookie_names(page.context, shop), lambda names: "_ga" not in names, what="_ga deleted")
    assert page.evaluate("CMP.getConsent()") is None
    wait_until(lambda: not records(consent_id))
    banner(page).get_by_role("button", name="Reject all").click()
    assert wait_for_cookie(page.context, shop)["id"] != consent_id  # a new, unlinked visitor id


def test_the_page_language_picks_the_texts(shop, page):
    shop.lang = "de-AT"
    open_shop(page, shop)
    german = banner(page, title="Ihre Privatsphäre")
    expect(german).to_be_visible()
    expect(german.get_by_role("heading")).to_have_text("Ihre Privatsphäre", use_inner_text=True)
    german.get_by_role("button", name="Alle ablehnen").click()
    assert wait_for_records(wait_for_cookie(page.context, shop)["id"])[0].language == "de"


def test_the_browser_api_decides_and_notifies(shop, page):
    open_shop(page, shop)
    page.evaluate("window.seen = []; CMP.onChange((consent) => seen.push(consent.categories))")
    page.evaluate("CMP.setConsent({preferences: true})")
    expect(banner(page)).to_be_hidden()
    assert page.evaluate("CMP.isAllowed('preferences')") is True
    assert page.evaluate("CMP.isAllowed('marketing')") is False
    page.evaluate("CMP.setConsent({marketing: true})")  # the rest stays as decided
    assert page.evaluate("seen")[-1] == {
        "authentication": True,
        "preferences": True,
        "analytics": False,
        "marketing": True,
    }
    page.evaluate("CMP.rejectAll()")
    assert page.evaluate("CMP.getConsent().source") == "api"
    assert len(page.evaluate("seen")) == 3
    consent_id = wait_for_cookie(page.context, shop)["id"]
    assert [r.action for r in wait_for_records(consent_id, count=3)] == ["custom", "custom", "reject_all"]


def test_a_strict_csp_page_raises_no_violation(shop, page):
    open_shop(page, shop)
    banner(page).get_by_role("button", name="Customize").click()
    dialog(page).get_by_role("button", name="Accept all").click()
    wait_until(lambda: len(page.evaluate("log")) == 4)
    assert page.evaluate("cspViolations") == []


def test_the_operator_preview_shows_the_banner_whatever_is_stored_and_records_nothing(shop, context, page, client):
    sign_in_staff(client, User.objects.create_superuser("operator"))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": shop.api}])
    stored = {"v": 1, "id": "2f1d3c4e-5b6a-4789-8abc-def012345678", "pv": 1, "t": 1, "exp": 2**31, "src": "banner"}
    value = urllib.parse.quote(json.dumps({**stored, "c": {"analytics": 1}}), safe="")
    context.add_cookies([{"name": "cmp_consent", "value": value, "url": shop.api}])
    page.goto(f"{shop.api}/cmp/{shop.site.key}/preview")
    expect(banner(page)).to_be_visible()
    page.get_by_role("link", name="Open the preferences dialog").click()
    dialog(page).get_by_role("button", name="Accept all").click()
    expect(banner(page)).to_be_hidden()
    assert json.loads(
        urllib.parse.unquote(next(c for c in context.cookies(shop.api) if c["name"] == "cmp_consent")["value"])
    )["c"] == {"analytics": 1}
    assert page.evaluate("localStorage.getItem('cmp_pending')") is None
    assert not ConsentRecord.objects.filter(site=shop.site).exists()


def test_global_privacy_control_overrides_a_stored_marketing_consent_before_anything_runs(shop, context):
    now = int(time.time())
    stored = {
        "v": 1,
        "id": "3f1d3c4e-5b6a-4789-8abc-def012345678",
        "pv": 1,
        "t": now - 60,
        "exp": now + 86400,
        "src": "banner",
        "c": {"authentication": 1, "preferences": 1, "analytics": 1, "marketing": 1},
    }
    context.add_cookies([{"name": "cmp_consent", "value": urllib.parse.quote(json.dumps(stored)), "url": shop.origin}])
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    page = open_shop(context.new_page(), shop)
    wait_until(lambda: len(page.evaluate("log")) == 3)
    assert "inline-marketing" not in page.evaluate("log")
    assert not {"/ext/ad.html", "/ext/pixel.gif"} & set(shop.tracker_hits())
    expect(banner(page)).to_have_count(0)
    consent = [entry for entry in data_layer(page) if entry[0] == "consent"]
    assert [entry[2]["ad_storage"] for entry in consent] == ["denied", "denied", "denied"]
    cookie = wait_for_cookie(context, shop, lambda c: c != stored, what="the cookie rewritten")
    assert cookie["src"] == "gpc" and cookie["c"]["marketing"] == 0 and cookie["c"]["analytics"] == 1
    (record,) = wait_for_records(stored["id"])
    assert record.source == "gpc" and record.gpc and record.categories["marketing"] is False


def test_a_site_may_let_an_explicit_opt_in_override_gpc(shop, context):
    shop.site.gpc_overridable = True
    shop.site.save()
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    page = open_shop(context.new_page(), shop)
    banner(page).get_by_role("button", name="Accept all").click()
    cookie = wait_for_cookie(context, shop)
    assert cookie["c"]["marketing"] == 0  # accepting all is no explicit choice of marketing

    page.locator("#settings").click()
    marketing = dialog(page).get_by_role("switch", name="Marketing")
    expect(marketing).to_be_enabled()
    marketing.click()
    dialog(page).get_by_role("button", name="Save choices").click()
    cookie = wait_for_cookie(context, shop, lambda c: c["c"]["marketing"] == 1, what="marketing chosen")
    record = wait_for_records(cookie["id"], count=2)[1]
    assert (record.source, record.gpc, record.categories["marketing"]) == ("preferences", True, True)

    page.reload()  # a choice made despite the signal is not overridden at the next page
    page.wait_for_function("window.CMP !== undefined")
    wait_until(lambda: "inline-marketing" in page.evaluate("log"))
    assert len(wait_for_records(cookie["id"], count=2)) == 2


def test_a_sandboxed_page_without_cookies_still_gets_a_working_banner(shop, page):
    shop.csp += "; sandbox allow-scripts"  # an opaque origin: document.cookie and localStorage throw
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_shop(page, shop)
    assert page.evaluate("(() => { try { document.cookie; return 'cookies'; } catch { return 'none'; } })()") == "none"
    banner(page).get_by_role("button", name="Accept all").click()
    wait_until(lambda: len(page.evaluate("log")) == 4)
    assert page.evaluate("CMP.isAllowed('marketing')") is True
    assert errors == []


def legacy_cookie(shop, consent_id: str, **extra) -> dict:
    """A decision cookie as the widget wrote it before visitor tokens (no `tk`)."""
    now = int(time.time())
    value = {"v": 1, "id": consent_id, "pv": 1, "t": now, "exp": now + 86400, "src": "banner",
             "c": {"authentication": 1, "preferences": 0, "analytics": 1, "marketing": 0}, **extra}  # fmt: skip
    return {"name": "cmp_consent", "value": urllib.parse.quote(json.dumps(value), safe=""), "url": shop.origin}


def record_before_tokens(shop, token_hash: str = "") -> str:
    """A visitor whose first decision was recorded before tokens (or claimed by another browser)."""
    consent_id = uuid.uuid4()
    decide(shop.site, "custom", consent_id=consent_id, analytics=True)
    ConsentState.objects.filter(consent_id=consent_id).update(token_hash=token_hash)
    return str(consent_id)


def test_a_visitor_from_before_tokens_claims_one_and_keeps_their_id(shop, page):
    consent_id = record_before_tokens(shop)
    page.context.add_cookies([legacy_cookie(shop, consent_id)])
    open_shop(page, shop)
    expect(banner(page)).to_be_hidden()  # the stored decision still counts
    cookie = wait_for_cookie(page.context, shop, until=lambda c: "tk" in c, what="a token in the cookie")
    assert cookie["id"] == consent_id
    expected = hashlib.sha256(cookie["tk"].encode()).hexdigest()
    wait_until(lambda: read(lambda: ConsentState.objects.get(consent_id=consent_id).token_hash) == expected)
    page.evaluate("CMP.rejectAll()")
    assert [r.action for r in wait_for_records(consent_id, count=2)] == ["custom", "reject_all"]


def test_a_visitor_whose_old_id_another_browser_claimed_goes_on_under_a_new_id(shop, page):
    consent_id = record_before_tokens(shop, token_hash=hashlib.sha256(b"someone else's token").hexdigest())
    page.context.add_cookies([legacy_cookie(shop, consent_id)])
    open_shop(page, shop)
    cookie = wait_for_cookie(page.context, shop, until=lambda c: c["id"] != consent_id, what="a new consent id")
    new = wait_for_records(cookie["id"])
    assert new[0].categories["analytics"] is True and new[0].categories["marketing"] is False  # same choices
    assert len(records(consent_id)) == 1  # nothing was added to the other browser's id
