"""Serving the widget: per-site config inlined, compressed, cacheable; the demo and the preview."""

import gzip
import json

import brotli
import pytest
from django.contrib.auth.models import User

from consent.services.sites import publish_policy
from consent.widget.views import PLACEHOLDER
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db


def inlined_config(body: bytes) -> dict:
    """The JSON the server put where the bundle had its placeholder."""
    text = body.decode()
    start = text.index('{"site":')
    return json.JSONDecoder().raw_decode(text[start:])[0]


def test_the_widget_carries_the_sites_config_and_the_api_base(client, site):
    response = client.get(f"/cmp/{site.key}.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert PLACEHOLDER not in response.content.decode()
    config = inlined_config(response.content)
    assert config["site"] == site.key and config["api"] == "http://testserver"
    assert [c["key"] for c in config["categories"]] == ["authentication", "preferences", "analytics", "marketing"]
    assert config["texts"]["en"]["receipt"]
    assert "preview" not in config


def test_compressed_cacheable_and_revalidated(client, site):
    plain = client.get(f"/cmp/{site.key}.js").content
    gz = client.get(f"/cmp/{site.key}.js", HTTP_ACCEPT_ENCODING="gzip")
    assert gz["Content-Encoding"] == "gzip" and gzip.decompress(gz.content) == plain
    br = client.get(f"/cmp/{site.key}.js", HTTP_ACCEPT_ENCODING="gzip, br")
    assert br["Content-Encoding"] == "br" and brotli.decompress(br.content) == plain
    assert "Accept-Encoding" in br["Vary"]
    assert br["Cache-Control"] == "public, max-age=300, stale-while-revalidate=86400"
    again = client.get(f"/cmp/{site.key}.js", HTTP_IF_NONE_MATCH=br["ETag"])
    assert again.status_code == 304


def test_a_policy_change_reaches_the_widget(client, site, django_capture_on_commit_callbacks):
    before = client.get(f"/cmp/{site.key}.js")
    with django_capture_on_commit_callbacks(execute=True):
        publish_policy(site=site, material=True)
    after = client.get(f"/cmp/{site.key}.js", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert inlined_config(after.content)["policy"]["required"] == 2


def test_an_unknown_site_gets_a_404_script_not_cached(client, db):
    response = client.get("/cmp/nosuchsite.js")
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"


def test_the_consent_mode_stub_carries_the_sites_settings_and_is_cached_like_the_widget(
    client, site, django_capture_on_commit_callbacks
):
    stub = client.get(f"/cmp/{site.key}/consent-mode.js", HTTP_ACCEPT_ENCODING="gzip")
    assert stub.status_code == 200 and stub["Content-Encoding"] == "gzip"
    assert stub["Cache-Control"] == "public, max-age=300, stale-while-revalidate=86400"
    body = gzip.decompress(stub.content).decode()
    assert "__CMP_CONSENT_MODE__" not in body and '{"required": 1, "mode": {"redact": true}}' in body
    with django_capture_on_commit_callbacks(execute=True):
        site.consent_mode_regions = [{"region": ["US-CA"], "granted": ["analytics"]}]
        site.google_developer_id = "dTest123"
        site.save()
        publish_policy(site=site, material=True)
    again = client.get(f"/cmp/{site.key}/consent-mode.js", HTTP_IF_NONE_MATCH=stub["ETag"])
    assert again.status_code == 200
    assert (
        '{"required": 2, "mode": {"regions": [{"region": ["US-CA"], "granted": ["analytics"]}], "redact": true, '
        '"developerId": "dTest123"}}'
    ) in again.content.decode()
    assert client.get("/cmp/nosuchsite/consent-mode.js").status_code == 404


def test_consent_mode_regions_are_validated(site):
    from django.core.exceptions import ValidationError

    for bad in (
        {"region": "US-CA"},
        [{"region": ["California"], "granted": []}],
        [{"region": ["US"], "granted": ["ads"]}],
    ):
        site.consent_mode_regions = bad
        with pytest.raises(ValidationError, match="ISO 3166"):
            site.full_clean()


def test_the_demo_shop_embeds_the_widget_under_a_strict_csp(client, site):
    site.name = "Demo shop"
    site.save()
    response = client.get("/demo/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    html = response.content.decode()
    assert f'<script src="/cmp/{site.key}.js" async nonce="{nonce}"></script>' in html
    for category in ("preferences", "analytics", "marketing"):
        assert f'data-category="{category}"' in html
    assert "unsafe-inline" not in csp


def test_the_preview_is_for_staff_only_and_ignores_stored_decisions(client, site):
    assert client.get(f"/cmp/{site.key}/preview").status_code == 302
    assert client.get(f"/cmp/{site.key}/preview.js").status_code == 302
    sign_in_staff(client, User.objects.create_superuser("operator", password="pw-operator-1"))
    page = client.get(f"/cmp/{site.key}/preview")
    assert page.status_code == 200 and f"/cmp/{site.key}/preview.js" in page.content.decode()
    script = client.get(f"/cmp/{site.key}/preview.js")
    assert "no-store" in script["Cache-Control"]
    assert inlined_config(script.content)["preview"] is True
    assert client.get("/cmp/nosuchsite/preview.js").status_code == 404


def test_a_draft_preview_lays_valid_edits_over_the_saved_config_and_ignores_the_rest(operator, site):
    url = f"/cmp/{site.key}/preview.js"
    for junk in ("{", "[1]", '"x"', '{"colour": "red", "position": "left", "texts": {"xx": {"title": 1}}}'):
        config = inlined_config(operator.get(url, {"draft": junk}).content)
        assert config["theme"]["colour"] == "#1d4ed8" and config["theme"]["position"] == "bottom"
        assert config["texts"]["en"]["title"] == "Your privacy" and config["preview"] is True
    draft = {
        "colour": "#7A1F5C",
        "position": "top",
        "texts": {"en": {"title": "Cookies?", "categories": "x", "nope": "y"}},
    }
    config = inlined_config(operator.get(url, {"draft": json.dumps(draft)}).content)
    assert config["theme"]["colour"] == "#7a1f5c" and config["theme"]["position"] == "top"
    assert config["texts"]["en"]["title"] == "Cookies?" and "nope" not in config["texts"]["en"]
    assert isinstance(config["texts"]["en"]["categories"], dict)


def test_the_gpc_declaration(client, settings):
    response = client.get("/.well-known/gpc.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json() == {"gpc": True}
    settings.CMP_GPC_LAST_UPDATE = "2026-11-25"
    assert client.get("/.well-known/gpc.json").json() == {"gpc": True, "lastUpdate": "2026-11-25"}


def test_the_widget_leaves_the_sites_own_session_and_csrf_cookies_alone(client, site):
    # A site on the same host (another port) sends its cookies with the widget's request.
    client.cookies["sessionid"] = "abc"
    client.cookies["csrftoken"] = "xyz"
    response = client.get(f"/cmp/{site.key}.js")
    assert response.status_code == 200
    assert not {"sessionid", "csrftoken"} & set(response.cookies)
