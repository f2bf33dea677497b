"""Site configuration in the admin: friendly forms, validation messages, the audit trail,
API keys shown once and revoked, the banner preview page."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from consent.models import ApiKey, Category, ConfigChange, Site
from consent.services.colours import contrast_ratio, text_colour_on
from consent.services.config import banner_config
from consent.services.sites import authenticate_api_key
from tests.factories import make_site

CHANGE = "/admin/consent/site/{}/change/"


def form_data(response) -> dict:
    """What the browser would post back unchanged: the page's form and inline forms."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
            elif value is not None:
                data[form.add_prefix(name)] = value
    return data


def post_change(client, site, **changes):
    url = CHANGE.format(site.pk)
    data = {**form_data(client.get(url)), **changes, "_continue": "1"}
    return client.post(url, data)


def test_contrast_ratio_follows_wcag():
    assert round(contrast_ratio("#ffffff", "#000000"), 1) == 21.0
    assert round(contrast_ratio("#ffffff", "#1d4ed8"), 2) == 6.70
    assert contrast_ratio("#ffffff", "#777777") < 4.5 < contrast_ratio("#ffffff", "#767676")
    assert (text_colour_on("#1d4ed8"), text_colour_on("#ffd700"), text_colour_on("nonsense")) == (
        "#ffffff",
        "#000000",
        "#ffffff",
    )


def test_a_colour_without_aa_contrast_is_refused_with_a_clear_message(operator, site):
    response = post_change(operator, site, primary_colour="#ffd700")
    assert response.status_code == 200
    assert "White text on #ffd700 has a contrast of 1.40:1; it needs at least 4.5:1" in response.content.decode()
    site.refresh_from_db()
    assert site.primary_colour == "#1d4ed8"
    assert post_change(operator, site, primary_colour="#0B5E3A").status_code == 302
    site.refresh_from_db()
    assert site.primary_colour == "#0b5e3a"


def test_an_origin_with_a_path_is_refused(operator, site):
    response = post_change(operator, site, **{"origins-1-origin": "https://shop.example/path"})
    assert "has more than a scheme and host" in response.content.decode()
    assert site.origins.count() == 1


def test_category_texts_and_cookie_names_are_plain_fields(operator, site):
    page = operator.get(CHANGE.format(site.pk)).content.decode()
    assert 'name="categories-2-name_en"' in page
    assert "Cookie names" in page
    response = post_change(
        operator,
        site,
        **{
            "categories-2-name_en": "Statistics",
            "categories-2-description_en": "Counting visits.",
            "categories-2-patterns": "_ga\r\n_ga_*\r\n\r\n_pk_id.*",
        },
    )
    assert response.status_code == 302
    analytics = Category.objects.get(site=site, key="analytics")
    assert analytics.texts["en"] == {"name": "Statistics", "description": "Counting visits."}
    assert analytics.texts["de"]["name"] == "Statistik"
    assert analytics.cookie_patterns == ["_ga", "_ga_*", "_pk_id.*"]
    bad = post_change(operator, site, **{"categories-2-patterns": "_ga; path=/"})
    assert "Not a cookie name: _ga; path=/" in bad.content.decode()


def test_banner_texts_are_plain_fields_per_language(operator, db):
    site = make_site(languages=["en", "de"])
    page = operator.get(CHANGE.format(site.pk)).content.decode()
    assert "Banner title (de)" in page
    assert "Empty: the standard text, \u201cIhre Privatsph\u00e4re\u201d." in page
    assert post_change(operator, site, title_de="Cookies?", acceptAll_en="OK").status_code == 302
    texts = banner_config(site.key)["texts"]
    assert (texts["de"]["title"], texts["en"]["acceptAll"], texts["en"]["title"]) == ("Cookies?", "OK", "Your privacy")
    assert post_change(operator, site, title_de="").status_code == 302
    site.refresh_from_db()
    assert site.banner_texts == {"en": {"acceptAll": "OK"}}
    assert ConfigChange.objects.filter(site=site).first().changes["title_de"] == ["Cookies?", ""]


def test_every_change_is_in_the_audit_trail_with_its_fields(operator, site):
    post_change(operator, site, name="Shop EU", consent_lifetime_days="90", **{"categories-3-name_en": "Ads"})
    changes = {c.target: c for c in ConfigChange.objects.filter(site=site).exclude(username="system")}
    assert set(changes) == {"site", "category marketing"}
    assert changes["site"].username == "operator"
    assert changes["site"].changes == {"name": ["Shop", "Shop EU"], "consent_lifetime_days": [182, 90]}
    assert changes["category marketing"].changes == {"name_en": ["Marketing", "Ads"]}

    post_change(operator, site)  # saved unchanged: nothing to record
    assert ConfigChange.objects.filter(site=site).exclude(username="system").count() == 2

    trail = operator.get("/admin/consent/configchange/").content.decode()
    assert "Shop EU" in trail
    assert "consent_lifetime_days" in trail
    page = operator.get(CHANGE.format(site.pk)).content.decode()
    assert "changed site" in page
    entry = operator.get(f"/admin/consent/configchange/{changes['site'].pk}/change/").content.decode()
    assert "<td>182</td><td>90</td>" in entry
    assert operator.post(f"/admin/consent/configchange/{changes['site'].pk}/delete/").status_code == 403


def test_publishing_a_policy_is_audited(operator, site):
    operator.post(
        "/admin/consent/site/", {"action": "publish_material_policy", "_selected_action": [site.pk]}, follow=True
    )
    assert site.policy_versions.count() == 2
    assert ConfigChange.objects.get(site=site, username="operator").target == "material policy version 2"


def test_api_keys_are_shown_once_and_revoked_with_an_audit_entry(operator, site, django_capture_on_commit_callbacks):
    response = operator.post("/admin/consent/apikey/add/", {"site": site.pk, "name": "backend"}, follow=True)
    message = next(str(m) for m in response.context["messages"])
    token = message.rsplit(" ", 1)[-1]
    assert token.startswith("cmp_")
    assert authenticate_api_key(token).site_id == site.pk
    key = ApiKey.objects.get(site=site)
    assert token not in operator.get(f"/admin/consent/apikey/{key.pk}/change/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the cache is cleared on commit
        operator.post("/admin/consent/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert authenticate_api_key(token) is None
    trail = ConfigChange.objects.filter(site=site).order_by("at", "id")
    assert [c.action for c in trail] == ["added", "created", "revoked"]


def test_the_preview_page_embeds_the_widget_and_may_be_framed_by_the_admin(operator, site):
    response = operator.get(f"/admin/consent/site/{site.pk}/preview/")
    assert response.status_code == 200
    assert f'src="/cmp/{site.key}/preview.js"' in response.content.decode()
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    page = operator.get(CHANGE.format(site.pk)).content.decode()
    assert f'src="/admin/consent/site/{site.pk}/preview/"' in page
    assert f'href="/cmp/{site.key}/preview"' in page


def test_the_site_list_links_each_site_to_its_figures(operator, site):
    assert f"/admin/consent/site/dashboard/?site={site.pk}" in operator.get("/admin/consent/site/").content.decode()
    assert Site.objects.count() == 1


def test_one_time_secrets_never_travel_in_a_cookie(operator, site):
    created = operator.post("/admin/consent/apikey/add/", {"site": site.pk, "name": "backend"})
    assert created.status_code == 302
    assert "messages" not in created.cookies
    shown = operator.get(created["Location"])
    token = next(str(m) for m in shown.context["messages"]).rsplit(" ", 1)[-1]
    assert token.startswith("cmp_")
    assert all(token not in morsel.value for morsel in operator.cookies.values())
    endpoint = operator.post(
        "/admin/consent/webhookendpoint/add/",
        {"site": site.pk, "url": "https://hooks.example/cmp", "active": "on", "description": ""},
    )
    assert endpoint.status_code == 302 and "messages" not in endpoint.cookies


def test_staff_passwords_follow_a_real_policy():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("password1234", "12345678901234", "short1A!"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("correct-horse-battery-staple")


def test_staff_need_their_second_factor_and_get_it_from_the_command_line(client, db):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.create_user("marketer", password="correct-horse-battery", is_staff=True)
    client.force_login(user)  # a password alone
    assert client.get("/admin/").status_code == 302
    client.logout()
    out = StringIO()
    call_command("setuptotp", "--user", "marketer", stdout=out)
    printed = out.getvalue()
    assert "otpauth://totp/" in printed
    codes = printed.strip().splitlines()[-1].split()
    assert len(codes) == 10
    login = {"username": "marketer", "password": "correct-horse-battery"}
    refused = client.post("/admin/login/?next=/admin/", {**login, "otp_token": "000000"})
    assert refused.status_code == 200 and not refused.wsgi_request.user.is_authenticated
    with_code = client.post("/admin/login/?next=/admin/", {**login, "otp_token": codes[0]})
    assert with_code.status_code == 302 and client.get("/admin/").status_code == 200
    client.logout()
    assert client.post("/admin/login/", {**login, "otp_token": codes[0]}).status_code == 200  # used once
    device = TOTPDevice.objects.get(user=user)
    device.throttle_reset()  # django-otp slows the app's codes down after the wrong one above
    app_code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post("/admin/login/?next=/admin/", {**login, "otp_token": app_code}).status_code == 302


def test_wrong_passwords_lock_the_account_even_for_the_right_one(client, db):
    User.objects.create_user("ops", password="right-horse-battery", is_staff=True)
    call_command("setuptotp", "--user", "ops", stdout=StringIO())
    for _ in range(50):
        client.post("/admin/login/", {"username": "ops", "password": "wrong-password", "otp_token": "000000"})
    from django_otp.plugins.otp_static.models import StaticToken

    code = StaticToken.objects.filter(device__user__username="ops").first().token
    right = {"username": "ops", "password": "right-horse-battery", "otp_token": code}
    locked = client.post("/admin/login/?next=/admin/", right)
    assert locked.status_code in (403, 429)
    assert client.get("/admin/").status_code == 302


def test_the_embed_tag_names_the_public_url_or_this_server(operator, settings):
    site = make_site()
    page = operator.get(CHANGE.format(site.pk)).content.decode()
    assert f"&lt;script src=&quot;http://testserver/cmp/{site.key}.js&quot; async&gt;&lt;/script&gt;" in page
    settings.CMP_PUBLIC_URL = "https://consent.example.com"
    page = operator.get(CHANGE.format(site.pk)).content.decode()
    assert f"https://consent.example.com/cmp/{site.key}.js" in page and "CMP_HOST" not in page
