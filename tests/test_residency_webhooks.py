"""Data residency of the webhook outbox: a site pinned to a data region has its deliveries and their
attempts (payloads are its visitors' decisions) in that region's database alone; the worker sends
them from there to a real receiver on 127.0.0.1, the metrics count them, the admin shows them for
the chosen site. Production's strict rule is on (`regional_site`): a query on the outbox that
names no database fails the test. Skipped without the data region (the SQLite pass)."""

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from consent.client import verify_webhook
from consent.models import ConsentState, ExpiryScan, WebhookAttempt, WebhookDelivery
from consent.selectors.backlog import webhook_backlog
from consent.services.rights import erase_visitor
from consent.services.sites import site_snapshot
from consent.services.webhooks import (
    LEASE_SECONDS,
    _claim,
    create_endpoint,
    deliver_due,
    notify_expired,
    prune_deliveries,
)
from tests.conftest import in_region
from tests.factories import decide, make_site
from tests.test_metrics import samples, value
from tests.test_webhooks import receivers  # noqa: F401  (a real receiver on 127.0.0.1)

REGION, DEFAULT = "region_us", "default"
REGIONAL = in_region()
TOKEN = "metrics-token-for-the-tests"


def outbox(site, alias: str) -> list[dict]:
    deliveries = WebhookDelivery.objects.using(alias).filter(endpoint__site_id=site.pk).order_by("id")
    return list(deliveries.values_list("payload", flat=True))


def attempts(site, alias: str) -> list[int | None]:
    tries = WebhookAttempt.objects.using(alias).filter(delivery__endpoint__site_id=site.pk).order_by("id")
    return list(tries.values_list("status_code", flat=True))


def scrape(client, settings) -> dict:
    settings.CMP_METRICS_TOKEN = TOKEN
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


@REGIONAL
def test_a_regional_sites_events_wait_in_its_region_and_are_delivered_from_there(regional_site, receivers):  # noqa: F811
    home = make_site(name="EU shop")
    regional_receiver, home_receiver = receivers(500), receivers()
    _, secret = create_endpoint(site=regional_site, url=regional_receiver.url)
    create_endpoint(site=home, url=home_receiver.url)
    visitor = decide(regional_site, analytics=True).consent_id
    decide(home, marketing=True)

    assert [p["consent_id"] for p in outbox(regional_site, REGION)] == [str(visitor)]
    assert outbox(regional_site, DEFAULT) == []
    assert len(outbox(home, DEFAULT)) == 1 and outbox(home, REGION) == []

    # The receiver fails once: the retry waits in the region, its attempt logged there.
    t0 = timezone.now()
    report = deliver_due(now=t0)
    assert (report.delivered, report.retrying) == (1, 1)  # the home site's went through
    assert attempts(regional_site, REGION) == [500] and attempts(regional_site, DEFAULT) == []
    assert deliver_due(now=t0 + timedelta(seconds=10)).retrying == 0  # backing off
    assert deliver_due(now=t0 + timedelta(seconds=31)).delivered == 1

    assert attempts(regional_site, REGION) == [500, 200] and attempts(regional_site, DEFAULT) == []
    assert attempts(home, DEFAULT) == [200] and attempts(home, REGION) == []
    delivery = WebhookDelivery.objects.using(REGION).get(endpoint__site_id=regional_site.pk)
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.DELIVERED, 2)
    headers, body = regional_receiver.requests[-1]
    event = verify_webhook(body, headers["CMP-Signature"], secret)
    assert (event["site"], event["consent_id"]) == (regional_site.key, str(visitor))
    assert len(home_receiver.requests) == 1


@REGIONAL
def test_the_worker_command_sends_the_regions_outbox_once_under_a_lease(regional_site, receivers, capsys):  # noqa: F811
    receiver = receivers()
    create_endpoint(site=regional_site, url=receiver.url)
    visitor = decide(regional_site, marketing=True).consent_id
    now = timezone.now()
    assert len(_claim(now, 10, using=REGION)) == 1  # a worker took it, then died
    assert deliver_due(now=now).delivered == 0
    assert deliver_due(now=now + timedelta(seconds=LEASE_SECONDS + 1)).delivered == 1

    decide(regional_site, consent_id=visitor, marketing=False)
    call_command("deliverwebhooks", "--once")
    assert "1 delivered" in capsys.readouterr().out
    assert [e["changes"][0]["event"] for e in receiver.events()] == ["opt_in", "opt_out"]
    assert attempts(regional_site, REGION) == [200, 200]


@REGIONAL
def test_the_metrics_count_every_databases_outbox(regional_site, client, settings):
    home = make_site(name="EU shop")
    create_endpoint(site=regional_site, url="http://127.0.0.1:9/hook")
    create_endpoint(site=home, url="http://127.0.0.1:9/hook")
    decide(regional_site, analytics=True)
    decide(regional_site, marketing=True)
    decide(home, analytics=True)
    hour_ago = timezone.now() - timedelta(hours=1)
    WebhookDelivery.objects.using(REGION).filter(endpoint__site_id=regional_site.pk).update(created_at=hour_ago)

    assert webhook_backlog().count == 3
    found = scrape(client, settings)
    assert value(found, "cmp_webhook_queue_depth") == 3
    assert value(found, "cmp_webhook_oldest_pending_seconds") >= 3600
    assert value(found, "cmp_rollup_lag_records") == 3
    assert value(found, "cmp_seal_lag_records", site=regional_site.key) == 2
    assert value(found, "cmp_seal_lag_records", site=home.key) == 1

    WebhookDelivery.objects.using(REGION).update(status=WebhookDelivery.DELIVERED)
    found = scrape(client, settings)
    assert value(found, "cmp_webhook_queue_depth") == 1
    assert value(found, "cmp_webhook_oldest_pending_seconds") < 60


@REGIONAL
def test_erasure_expiry_and_pruning_reach_the_regions_outbox(regional_site):
    create_endpoint(site=regional_site, url="http://127.0.0.1:9/hook")
    erased = decide(regional_site, marketing=True).consent_id
    kept = decide(regional_site, analytics=True).consent_id
    erase_visitor(site_snapshot(regional_site.key), erased)
    assert [(p["type"], p["consent_id"]) for p in outbox(regional_site, REGION)] == [
        ("consent.changed", str(kept)),
        ("consent.erased", str(erased)),
    ]

    # The kept visitor's decision expires: found in the region's states, announced in its outbox.
    lifetime = timedelta(days=regional_site.consent_lifetime_days)
    ConsentState.objects.using(REGION).filter(consent_id=kept).update(decided_at=timezone.now() - lifetime)
    assert notify_expired(now=timezone.now() + timedelta(days=1)) == 1
    assert outbox(regional_site, REGION)[-1]["type"] == "consent.expired"
    assert ExpiryScan.objects.filter(site=regional_site).exists()  # the scan's mark is the default database's

    deliver_due()
    assert len(attempts(regional_site, REGION)) == 3  # the closed port: one failed try each
    WebhookDelivery.objects.using(REGION).update(status=WebhookDelivery.FAILED)
    assert prune_deliveries(before=timezone.now() + timedelta(days=1)) == 3
    assert outbox(regional_site, REGION) == [] and attempts(regional_site, REGION) == []
    assert outbox(regional_site, DEFAULT) == []


@REGIONAL
def test_the_admin_shows_and_sends_again_the_chosen_regional_sites_deliveries(regional_site, receivers, admin_client):  # noqa: F811
    receiver = receivers(500)
    create_endpoint(site=regional_site, url=receiver.url)
    decide(regional_site, marketing=True)
    deliver_due()
    delivery = WebhookDelivery.objects.using(REGION).get()
    chosen = f"endpoint__site__id__exact={regional_site.pk}"

    unfiltered = admin_client.get("/admin/consent/webhookdelivery/")
    assert str(delivery.event_id) not in unfiltered.content.decode()  # the default database's list
    assert "choose the site" in unfiltered.content.decode()
    listed = admin_client.get(f"/admin/consent/webhookdelivery/?{chosen}").content.decode()
    assert str(delivery.event_id) in listed and "HTTP 500" in listed

    page = admin_client.get(
        f"/admin/consent/webhookdelivery/{delivery.pk}/change/", {"_changelist_filters": chosen}
    ).content.decode()
    assert str(delivery.event_id) in page and "consent.changed" in page and "500" in page

    admin_client.post(
        f"/admin/consent/webhookdelivery/?{chosen}", {"action": "send_again", "_selected_action": [delivery.pk]}
    )
    delivery.refresh_from_db()
    assert delivery._state.db == REGION and delivery.next_attempt_at <= timezone.now()
    assert deliver_due().delivered == 1
    assert attempts(regional_site, REGION) == [500, 200] and attempts(regional_site, DEFAULT) == []
