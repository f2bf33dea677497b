"""Regional regimes: the region from the CDN's headers, the regime it puts a visitor under, the
widget's script for it, the record that keeps it, and the check that answers by it."""

import json
import re
import uuid

import pytest

from consent import cache
from consent.models import ConfigChange, ConsentRecord, ShownConfiguration, Site
from consent.services.proof import verify_site
from consent.services.regimes import regime_for
from tests.factories import make_api_key, make_site
from tests.test_admin_sites import post_change

CDN = {"CMP_COUNTRY_HEADER": "HTTP_X_COUNTRY", "CMP_REGION_HEADER": "HTTP_X_REGION"}
CALIFORNIA = {"X-Country": "US", "X-Region": "CA"}
GERMANY = {"X-Country": "DE"}
ORIGIN = {"Origin": "https://shop.example"}


@pytest.fixture
def cdn(settings):
    for name, value in CDN.items():
        setattr(settings, name, value)
    return settings


def inlined_config(response) -> dict:
    """The config the server wrote into the widget's script."""
    source = response.content.decode()
    return json.loads(re.search(r"=(\{\"site\".*?\}),\w+=`", source).group(1))


def script(client, site, headers=None):
    response = client.get(f"/cmp/{site.key}.js", headers=headers or {})
    assert response.status_code == 200
    return response


RULES = (("opt_in", ("DE", "FR")), ("opt_out", ("US-CA", "US-CO")), ("notice", ("US",)))


@pytest.mark.parametrize(
    ("region", "regime"),
    [
        ("DE", "opt_in"),
        ("US-CA", "opt_out"),  # the subdivision's rule wins over its country's
        ("US-NY", "notice"),  # no rule for the state: the country's
        ("JP", "notice"),  # no rule at all: the site's default
        ("", "opt_in"),  # unknown: the strictest regime the site uses
    ],
)
def test_a_region_gets_its_subdivisions_then_its_countrys_then_the_default_regime(region, regime):
    assert regime_for(RULES, "notice", region) == regime


def test_unknown_is_the_strictest_regime_the_site_uses_not_always_opt_in():
    assert regime_for((("notice", ("US",)),), "opt_out", "") == "opt_out"
    assert regime_for((), "notice", "") == "notice"


def test_a_new_site_asks_first_in_europe_and_lets_us_states_opt_out(db):
    site = make_site()
    snapshot_rules = {rule["regime"]: rule["region"] for rule in site.regimes}
    assert "DE" in snapshot_rules["opt_in"] and "GB" in snapshot_rules["opt_in"]
    assert "US-CA" in snapshot_rules["opt_out"]
    assert site.default_regime == "opt_in"


@pytest.mark.parametrize(
    ("headers", "region"),
    [
        ({"X-Country": "us", "X-Region": "ca"}, "US-CA"),
        ({"X-Country": "US", "X-Region": "US-TX"}, "US-TX"),
        ({"X-Country": "DE"}, "DE"),
        ({"X-Country": "XX"}, ""),  # Cloudflare: unknown
        ({"X-Country": "T1"}, ""),  # Cloudflare: Tor
        ({"X-Country": "US", "X-Region": "<script>"}, "US"),
        ({"X-Region": "CA"}, ""),  # a subdivision without its country says nothing
    ],
)
def test_the_region_comes_from_the_cdns_headers(client, cdn, db, headers, region):
    site = make_site()
    api_key = make_api_key(site)
    client.post(
        f"/api/v1/sites/{site.key}/consents",
        {"action": "reject_all", "policy_version": 1},
        content_type="application/json",
        headers={**ORIGIN, **headers},
    )
    record = ConsentRecord.objects.get()
    assert record.region == region
    assert api_key


def test_without_configured_headers_every_visitor_gets_the_strictest_regime_and_one_cacheable_script(client, db):
    site = make_site()
    response = script(client, site, CALIFORNIA)
    assert "regime" not in inlined_config(response)
    assert response["Cache-Control"].startswith("public")
    assert "X-Country" not in response.get("Vary", "")


def test_an_eu_visitor_gets_the_opt_in_banner_byte_for_byte(client, cdn, db):
    site = make_site()
    eu, unknown = script(client, site, GERMANY), script(client, site)
    assert eu.content == unknown.content
    config = inlined_config(eu)
    assert "regime" not in config and "regimeScript" not in config and "region" not in config
    assert "optOutLink" not in config["texts"]["en"]


def test_a_california_visitor_gets_the_opt_out_regime_inlined_with_its_own_proof_of_wording(client, cdn, db):
    site = make_site()
    config = inlined_config(script(client, site, CALIFORNIA))
    assert (config["regime"], config["region"]) == ("opt_out", "US-CA")
    assert config["texts"]["en"]["optOutLink"] == "Your Privacy Choices"
    assert re.match(r"^http://testserver/cmp/regime\.js\?v=[0-9a-f]{8}$", config["regimeScript"])
    eu = inlined_config(script(client, site, GERMANY))
    assert config["shown"]["en"] != eu["shown"]["en"]
    kept = ShownConfiguration.objects.get(site=site, digest=config["shown"]["en"]).content
    assert kept["regime"] == "opt_out" and kept["texts"]["optOutTitle"].startswith("Do Not Sell")


def test_the_script_varies_by_region_and_stays_out_of_shared_caches_unless_the_cdn_keys_on_it(client, cdn, db):
    site = make_site()
    response = script(client, site, CALIFORNIA)
    assert {"Accept-Encoding", "X-Country", "X-Region"} <= {h.strip() for h in response["Vary"].split(",")}
    assert response["Cache-Control"] == "private, max-age=300, stale-while-revalidate=86400"
    cdn.CMP_CDN_VARIES_BY_REGION = True
    assert script(client, site, CALIFORNIA)["Cache-Control"].startswith("public")


def test_a_site_with_one_regime_everywhere_has_one_script(client, cdn, db):
    site = make_site()
    Site.objects.filter(pk=site.pk).update(regimes=[], default_regime="opt_in")
    response = script(client, site, CALIFORNIA)
    assert "regime" not in inlined_config(response)
    assert "X-Country" not in response["Vary"] and response["Cache-Control"].startswith("public")


def test_the_regime_script_is_one_immutable_file(client, cdn, db):
    site = make_site()
    url = inlined_config(script(client, site, CALIFORNIA))["regimeScript"].removeprefix("http://testserver")
    response = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"


def post_decision(client, site, headers, **body):
    response = client.post(
        f"/api/v1/sites/{site.key}/consents",
        {"policy_version": 1, **body},
        content_type="application/json",
        headers={**ORIGIN, **headers},
    )
    assert response.status_code == 201, response.content
    return response.json()


def check(client, site, api_key, visitor, category, query=""):
    response = client.get(
        f"/api/v1/sites/{site.key}/consents/{visitor}/categories/{category}{query}",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    return response.status_code, response.json()


def test_an_opt_out_is_recorded_under_its_regime_and_the_check_allows_until_opted_out(client, cdn, db):
    site = make_site()
    api_key = make_api_key(site)
    shown = inlined_config(script(client, site, CALIFORNIA))["shown"]["en"]
    everything = {"preferences": True, "analytics": True, "marketing": False}
    decided = post_decision(
        client, site, CALIFORNIA, action="custom", source="preferences", categories=everything, shown=shown
    )
    assert (decided["regime"], decided["region"]) == ("opt_out", "US-CA")
    record = ConsentRecord.objects.get()
    assert (record.regime, record.region, record.country, record.source) == ("opt_out", "US-CA", "US", "preferences")
    visitor = decided["consent_id"]
    assert check(client, site, api_key, visitor, "marketing") == (200, {"allowed": False, "reason": "opted_out"})
    assert check(client, site, api_key, visitor, "analytics") == (200, {"allowed": True, "reason": "not_opted_out"})
    # The regime and the region are part of the record's hash: the chain verifies, and an edit shows.
    assert verify_site(site).intact
    ConsentRecord.objects.filter(pk=record.pk).delete()  # the manager refuses updates; re-insert edited
    record.pk, record.region = None, "US-TX"
    ConsentRecord.objects.bulk_create([record])
    assert not verify_site(site).intact


def test_an_eu_decision_is_opt_in_and_the_check_is_as_strict_as_ever(client, cdn, db):
    site = make_site()
    api_key = make_api_key(site)
    decided = post_decision(client, site, GERMANY, action="reject_all")
    assert (decided["regime"], decided["region"]) == ("opt_in", "DE")
    visitor = decided["consent_id"]
    assert check(client, site, api_key, visitor, "analytics") == (200, {"allowed": False, "reason": "refused"})


def test_gpc_under_opt_out_is_an_opt_out_of_sale_and_sharing_recorded_as_such(client, cdn, db):
    site = make_site()
    everything = {"preferences": True, "analytics": True, "marketing": True}
    decided = post_decision(
        client, site, {**CALIFORNIA, "Sec-GPC": "1"}, action="custom", source="gpc", categories=everything
    )
    assert decided["categories"]["marketing"] is False and decided["categories"]["analytics"] is True
    assert (decided["source"], decided["gpc"], decided["regime"]) == ("gpc", True, "opt_out")


def test_a_visitor_keeps_the_regime_they_were_shown_when_they_cross_a_border(client, cdn, db):
    site = make_site()
    shown = inlined_config(script(client, site, CALIFORNIA))["shown"]["en"]
    decided = post_decision(
        client, site, GERMANY, action="custom", source="preferences", categories={"analytics": True}, shown=shown
    )
    assert (decided["regime"], decided["region"]) == ("opt_out", "DE")


def test_the_check_answers_a_visitor_who_never_decided_by_the_region_the_caller_names(client, cdn, db):
    site = make_site()
    api_key = make_api_key(site)
    nobody = uuid.uuid4()
    assert check(client, site, api_key, nobody, "marketing") == (200, {"allowed": False, "reason": "no_decision"})
    assert check(client, site, api_key, nobody, "marketing", "?region=US-CA") == (
        200,
        {"allowed": True, "reason": "not_opted_out"},
    )
    assert check(client, site, api_key, nobody, "marketing", "?region=DE")[1]["reason"] == "no_decision"
    Site.objects.filter(pk=site.pk).update(default_regime="notice")
    cache.forget_all()
    assert check(client, site, api_key, nobody, "marketing", "?region=JP")[1] == {"allowed": True, "reason": "notice"}
    status, body = check(client, site, api_key, nobody, "marketing", "?region=California")
    assert status == 400 and "region" in json.dumps(body["error"])


def test_the_admin_edits_regimes_as_lists_of_regions(operator, db):
    site = make_site()
    response = post_change(
        operator,
        site,
        opt_in_regions="DE FR",
        opt_out_regions="us-ca, US-TX",
        notice_regions="",
        default_regime="notice",
    )
    assert response.status_code == 302
    site.refresh_from_db()
    assert site.regimes == [
        {"region": ["DE", "FR"], "regime": "opt_in"},
        {"region": ["US-CA", "US-TX"], "regime": "opt_out"},
    ]
    assert site.default_regime == "notice"
    assert ConfigChange.objects.filter(site=site, changes__has_key="opt_out_regions").exists()
    response = post_change(operator, site, notice_regions="US-CA")
    assert response.status_code == 200 and "US-CA appear under two" in response.content.decode()
    response = post_change(operator, site, notice_regions="California")
    assert response.status_code == 200 and "Not an ISO 3166" in response.content.decode()
    site.refresh_from_db()
    assert site.regimes[1] == {"region": ["US-CA", "US-TX"], "regime": "opt_out"}


def test_sites_from_before_regimes_keep_the_opt_in_banner_everywhere(transactional_db):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("consent", "0010_shown_texts_visitor_settings_consent_mode_gpc")], [("consent", "0011_regimes")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_site = executor.loader.project_state(before).apps.get_model("consent", "Site")
    old_site.objects.create(key="oldsite", name="Old shop")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    migrated = Site.objects.get(key="oldsite")
    assert (migrated.regimes, migrated.default_regime) == ([], "opt_in")
