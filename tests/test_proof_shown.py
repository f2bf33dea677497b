"""Proof of exactly what was shown: each record names the configuration its visitor saw, kept
word for word under its digest, and verifyproof checks both."""

import pytest
from django.core.management import call_command
from django.db import connection

from consent.models import ConsentRecord, ShownConfiguration
from consent.services.proof import shown_digest, verify_site
from consent.services.sites import publish_policy
from tests.factories import make_site


def config(api) -> dict:
    response = api.http.get(f"{api.base}/config")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_decision_names_the_wording_it_was_given_under_and_keeps_it_after_the_texts_change(api):
    api.site.languages = "en,de"
    api.site.banner_texts = {"en": {"title": "We use cookies"}}
    api.site.save()
    before = config(api)
    assert set(before["shown"]) == {"en", "de"}
    visitor = api.decide(language="en", shown=before["shown"]["en"], categories={"analytics": True})
    assert visitor["shown"] == before["shown"]["en"]

    api.site.banner_texts = {"en": {"title": "Cookies, briefly"}}
    api.site.save()
    after = config(api)
    assert after["shown"]["en"] != before["shown"]["en"]
    assert after["shown"]["de"] == before["shown"]["de"]  # the German wording did not change

    # A page loaded before the change still records under the wording it showed.
    late = api.decide(language="en", shown=before["shown"]["en"])
    again = api.decide(consent_id=visitor["consent_id"], language="en", shown=after["shown"]["en"])

    export = api.get(f"/consents/{visitor['consent_id']}/export").json()
    assert [record["shown"] for record in export["records"]] == [before["shown"]["en"], after["shown"]["en"]]
    assert export["shown"][before["shown"]["en"]]["texts"]["title"] == "We use cookies"
    assert export["shown"][after["shown"]["en"]]["texts"]["title"] == "Cookies, briefly"
    assert export["shown"][before["shown"]["en"]]["texts"]["categories"]["analytics"]["name"]
    assert export["shown"][before["shown"]["en"]]["policy"]["version"] == 1
    assert late["shown"] == before["shown"]["en"] and again["hash"] != late["hash"]

    report = verify_site(api.site)
    assert report.intact and report.shown == 2, report


def test_a_wording_the_site_never_showed_is_refused_and_nothing_is_recorded(api):
    shown = config(api)["shown"]["en"]  # of policy version 1
    publish_policy(site=api.site, summary="Typo fixed")  # version 2, a valid version to decide under
    other = make_site(name="Other", origins=("https://other.example",))
    other_config = api.http.get(f"{api.root}/api/v1/sites/{other.key}/config").json()
    cases = {
        "unknown": ({"shown": "0" * 64}, "shown"),
        "another site's": ({"shown": other_config["shown"]["en"]}, "shown"),
        "not a digest": ({"shown": "en"}, "shown"),
        "another language's": ({"shown": shown, "language": "de"}, "language"),
        "another policy version's": ({"shown": shown, "policy_version": 2}, "policy_version"),
    }
    for body, field in cases.values():
        response = api.post("/consents", json={"action": "accept_all", "policy_version": 1, **body})
        assert response.status_code == 400, response.text
        assert field in response.json()["error"]["details"], response.json()
    assert not ConsentRecord.objects.exists()


def test_verifyproof_finds_a_wording_edited_or_lost(api, capsys):
    shown = config(api)["shown"]["en"]
    api.decide(language="en", shown=shown)
    kept = ShownConfiguration.objects.get(site=api.site, digest=shown)
    assert shown_digest(kept.content) == shown

    edited = {**kept.content, "texts": {**kept.content["texts"], "title": "Something else"}}
    ShownConfiguration.objects.filter(pk=kept.pk).update(content=edited)
    with pytest.raises(SystemExit):
        call_command("verifyproof", site=api.site.key)
    assert "the texts were edited" in capsys.readouterr().err

    ShownConfiguration.objects.filter(pk=kept.pk).delete()
    with pytest.raises(SystemExit):
        call_command("verifyproof", site=api.site.key)
    assert f"the configuration it was shown ({shown[:12]}) is missing" in capsys.readouterr().err


def test_the_digest_is_part_of_the_record_hash(api):
    shown = config(api)["shown"]["en"]
    record = api.decide(language="en", shown=shown)
    with connection.cursor() as cursor:  # what an edit behind the application's back would do
        cursor.execute("UPDATE consent_consentrecord SET shown = %s", ["1" * 64])
    report = verify_site(api.site)
    assert report.broken and "content does not match its hash" in report.broken
    assert record["hash"] == ConsentRecord.objects.get().hash
