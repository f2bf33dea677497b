"""The public impressions endpoint, over real HTTP: counted per site, day, language, country."""

import pytest
import requests
from django.test import override_settings

from consent.models import DailyImpressions

ORIGIN = {"Origin": "https://shop.example"}


@pytest.fixture
def url(live_server, site):
    return f"{live_server.url}/api/v1/sites/{site.key}/impressions"


def counts():
    return {(r.language, r.country): r.count for r in DailyImpressions.objects.all()}


@override_settings(CMP_COUNTRY_HEADER="HTTP_CF_IPCOUNTRY")
def test_impressions_are_counted_per_language_and_country(url):
    for _ in range(3):
        assert requests.post(url, json={"language": "de"}, headers={**ORIGIN, "CF-IPCountry": "at"}).status_code == 204
    assert requests.post(url, json={}, headers=ORIGIN).status_code == 204
    assert counts() == {("de", "AT"): 3, ("", ""): 1}


def test_a_beacon_posts_text_plain_and_sets_no_cookie(url):
    response = requests.post(url, data='{"language": "fr"}', headers={**ORIGIN, "Content-Type": "text/plain"})
    assert response.status_code == 204
    assert not response.cookies
    assert "Set-Cookie" not in response.headers
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert counts() == {("fr", ""): 1}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"language": 5}', "application/json"),
        ('{"language": "<script>"}', "application/json"),
        ('{"language": "' + "x" * 40 + '"}', "application/json"),
        ("[1, 2]", "application/json"),
        ("{not json", "application/json"),
        ("language=en", "application/x-www-form-urlencoded"),
    ],
)
def test_bad_input_is_a_clear_4xx(url, body, content_type):
    response = requests.post(url, data=body, headers={**ORIGIN, "Content-Type": content_type})
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]
    assert counts() == {}


def test_a_foreign_origin_and_an_unknown_site_are_refused(url, live_server):
    assert requests.post(url, json={}, headers={"Origin": "https://evil.example"}).status_code == 403
    unknown = f"{live_server.url}/api/v1/sites/nosuchsite/impressions"
    assert requests.post(unknown, json={}, headers=ORIGIN).status_code == 404
    assert counts() == {}
