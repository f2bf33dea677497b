"""What the preferences dialog names: the controller, the recipients, and per category the cookies
with their provider, purpose and duration (EDPB Guidelines 05/2020: informed consent)."""

from consent.models import Category
from consent.services.config import banner_config
from tests.test_admin_sites import CHANGE, post_change


def test_the_operator_declares_cookies_with_details_and_the_dialog_gets_them(operator, site, client):
    response = post_change(
        operator,
        site,
        controller_name="Shop Ltd.",
        controller_contact="privacy@shop.example",
        recipients="Google Ireland Ltd.\r\n\r\nMeta Platforms Ireland Ltd.",
        **{"categories-2-patterns": "_ga\r\n_shop_ab | Shop Ltd. | Which test variant you see | 30 days\r\n_mystery"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    analytics = Category.objects.get(site=site, key="analytics")
    assert analytics.cookie_patterns == ["_ga", "_shop_ab", "_mystery"]
    assert analytics.cookie_details == {
        "_shop_ab": {"provider": "Shop Ltd.", "purpose": "Which test variant you see", "duration": "30 days"}
    }
    # The form shows them back as typed: an unchanged save is no change.
    assert (
        "_shop_ab | Shop Ltd. | Which test variant you see | 30 days"
        in operator.get(CHANGE.format(site.pk)).content.decode()
    )

    declared = client.get(f"/api/v1/sites/{site.key}/cookies", HTTP_ORIGIN="https://shop.example")
    assert declared.status_code == 200
    assert declared["Access-Control-Allow-Origin"] == "https://shop.example"
    cookies = {cookie["name"]: cookie for cookie in declared.json()["categories"]["analytics"]}
    assert list(cookies) == ["_ga", "_shop_ab", "_mystery"]
    assert cookies["_ga"]["provider"] == "Google" and cookies["_ga"]["duration"] == "2 years"  # Open Cookie Database
    assert cookies["_shop_ab"] == {
        "name": "_shop_ab",
        "provider": "Shop Ltd.",
        "purpose": "Which test variant you see",
        "duration": "30 days",
    }
    assert cookies["_mystery"] == {"name": "_mystery", "provider": "", "purpose": "", "duration": ""}

    config = banner_config(site.key)
    assert config["controller"] == {"name": "Shop Ltd.", "contact": "privacy@shop.example"}
    assert config["recipients"] == ["Google Ireland Ltd.", "Meta Platforms Ireland Ltd."]


def test_a_site_that_names_no_controller_sends_no_empty_fields(site, client):
    config = client.get(f"/api/v1/sites/{site.key}/config").json()
    assert "controller" not in config and "recipients" not in config
    assert client.get("/api/v1/sites/nosuchsite/cookies").status_code == 404
