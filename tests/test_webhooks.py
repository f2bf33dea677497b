"""Webhooks: the outbox, events per category change, signed delivery at least once to a real
local HTTP receiver, retries with backoff, the verification helper, the delivery log."""

import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from consent.client import DuplicateWebhook, SeenEventIds, WebhookVerificationError, verify_webhook
from consent.models import WebhookAttempt, WebhookDelivery
from consent.services.records import record_decision
from consent.services.rights import erase_visitor
from consent.services.sites import site_snapshot
from consent.services.webhooks import (
    LEASE_SECONDS,
    MAX_ATTEMPTS,
    _claim,
    backoff,
    create_endpoint,
    deliver_due,
    notify_expired,
    rotate_secret,
)
from tests.factories import decide
from tests.test_services_lifecycle import backdate

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP server on 127.0.0.1 (port 0) answering the given statuses in turn, then 200."""

    def __init__(self, statuses=(), location: str = ""):
        self.statuses, self.requests = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))  # case-insensitive names
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/cmp"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def receivers():
    started = []

    def start(*statuses, **kwargs) -> Receiver:
        started.append(Receiver(statuses, **kwargs))
        return started[-1]

    yield start
    for receiver in started:
        receiver.close()


def payloads(endpoint) -> list[dict]:
    return list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id").values_list("payload", flat=True))


def test_a_receiver_that_fails_twice_gets_the_event_delivered_once_with_valid_signatures(site, receivers):
    receiver = receivers(500, 503)
    endpoint, secret = create_endpoint(site=site, url=receiver.url)
    visitor = decide(site, analytics=True).consent_id
    t0 = timezone.now()

    assert deliver_due(now=t0).retrying == 1
    assert deliver_due(now=t0 + timedelta(seconds=10)).retrying == 0  # backing off: not due yet
    assert deliver_due(now=t0 + timedelta(seconds=31)).retrying == 1
    assert deliver_due(now=t0 + timedelta(seconds=92)).delivered == 1
    assert deliver_due(now=t0 + timedelta(days=1)).delivered == 0

    assert len(receiver.requests) == 3
    events = [verify_webhook(body, headers["CMP-Signature"], secret) for headers, body in receiver.requests]
    assert len({event["id"] for event in events}) == 1
    assert {headers["CMP-Event-Id"] for headers, _ in receiver.requests} == {events[0]["id"]}
    assert events[0]["consent_id"] == str(visitor)
    assert events[0]["changes"] == [{"category": "analytics", "event": "opt_in", "allowed": True}]
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [500, 503, 200]


def test_a_replayed_webhook_is_rejected_by_the_helper(site, receivers):
    receiver = receivers()
    _, secret = create_endpoint(site=site, url=receiver.url)
    decide(site, marketing=True)
    deliver_due()
    headers, body = receiver.requests[0]
    signature = headers["CMP-Signature"]
    seen = SeenEventIds()

    assert verify_webhook(body, signature, secret, seen=seen)["type"] == "consent.changed"
    with pytest.raises(DuplicateWebhook, match="already received"):
        verify_webhook(body, signature, secret, seen=seen)  # the same request again
    sent_at = int(signature.split(",")[0][2:])
    with pytest.raises(WebhookVerificationError, match="a replay"):
        verify_webhook(body, signature, secret, now=sent_at + 301)  # too late, even with a fresh store
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_webhook(body.replace(b"marketing", b"analytics"), signature, secret)
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_webhook(body, signature, "whsec_wrong")
    forged_time = signature.replace(f"t={sent_at}", f"t={sent_at + 60}")
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_webhook(body, forged_time, secret, now=sent_at + 60)
    with pytest.raises(WebhookVerificationError, match="No timestamp"):
        verify_webhook(body, "garbage", secret)


def test_each_category_change_is_an_event(site):
    endpoint, _ = create_endpoint(site=site, url="http://127.0.0.1:9/")
    visitor = decide(site, analytics=True).consent_id
    decide(site, consent_id=visitor, analytics=True)  # nothing changed: no event
    decide(site, consent_id=visitor, marketing=True)
    decide(site, consent_id=visitor, action="withdraw")
    changed = payloads(endpoint)
    erase_visitor(site_snapshot(site.key), visitor)

    # The erasure takes the earlier events of the visitor out of the outbox.
    events = changed + payloads(endpoint)
    assert [(e["type"], e["changes"]) for e in events] == [
        ("consent.changed", [{"category": "analytics", "event": "opt_in", "allowed": True}]),
        (
            "consent.changed",
            [
                {"category": "analytics", "event": "opt_out", "allowed": False},
                {"category": "marketing", "event": "opt_in", "allowed": True},
            ],
        ),
        ("consent.changed", [{"category": "marketing", "event": "withdrawal", "allowed": False}]),
        (
            "consent.erased",
            [
                {"category": key, "event": "erasure", "allowed": False}
                for key in ("preferences", "analytics", "marketing")
            ],
        ),
    ]
    assert {e["consent_id"] for e in events} == {str(visitor)}
    assert events[1]["categories"]["marketing"] is True and events[1]["site"] == site.key
    assert len({e["id"] for e in events}) == 4


def test_a_decision_again_after_an_outdating_policy_is_an_opt_in(site, django_capture_on_commit_callbacks):
    from consent.services.sites import publish_policy

    endpoint, _ = create_endpoint(site=site, url="http://127.0.0.1:9/")
    visitor = decide(site, marketing=True).consent_id
    with django_capture_on_commit_callbacks(execute=True):
        publish_policy(site=site, material=True)
    decide(site, consent_id=visitor, policy_version=2, marketing=True)
    assert [e["changes"][0]["event"] for e in payloads(endpoint)] == ["opt_in", "opt_in"]


def test_expiry_is_found_by_the_periodic_scan_and_announced_once(site):
    endpoint, _ = create_endpoint(site=site, url="http://127.0.0.1:9/")
    visitor = uuid.uuid4()
    backdate(site, [visitor], days=site.consent_lifetime_days - 1)  # analytics granted by the last record
    assert notify_expired() == 0
    assert notify_expired(now=timezone.now() + timedelta(days=2)) == 1
    assert notify_expired(now=timezone.now() + timedelta(days=3)) == 0
    expired = payloads(endpoint)[-1]
    assert expired["type"] == "consent.expired" and expired["consent_id"] == str(visitor)
    assert expired["changes"] == [{"category": "analytics", "event": "expiry", "allowed": False}]


def test_endpoints_receive_only_the_categories_and_events_they_asked_for(site):
    picky, _ = create_endpoint(site=site, url="http://127.0.0.1:9/a", categories=["marketing"], events=["opt_out"])
    inactive, _ = create_endpoint(site=site, url="http://127.0.0.1:9/b")
    inactive.active = False
    inactive.save()
    visitor = decide(site, analytics=True, marketing=True).consent_id
    decide(site, consent_id=visitor, analytics=False, marketing=False)
    assert [e["changes"] for e in payloads(picky)] == [
        [{"category": "marketing", "event": "opt_out", "allowed": False}]
    ]
    assert payloads(inactive) == []


def test_the_outbox_row_is_written_in_the_decisions_transaction(site):
    create_endpoint(site=site, url="http://127.0.0.1:9/")
    with pytest.raises(RuntimeError), transaction.atomic():
        decide(site, marketing=True)
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the request failed after recording")
    assert WebhookDelivery.objects.count() == 0


def test_a_delivery_claimed_by_a_worker_that_died_is_sent_after_the_lease(site, receivers):
    receiver = receivers()
    create_endpoint(site=site, url=receiver.url)
    decide(site, marketing=True)
    now = timezone.now()
    assert len(_claim(now, 10)) == 1  # the worker took it, then the process was killed
    assert deliver_due(now=now).delivered == 0
    assert deliver_due(now=now + timedelta(seconds=LEASE_SECONDS + 1)).delivered == 1
    assert len(receiver.requests) == 1


def test_a_receiver_that_never_answers_2xx_is_given_up_after_the_last_attempt(site, receivers):
    receiver = receivers(*([500] * MAX_ATTEMPTS))
    endpoint, _ = create_endpoint(site=site, url=receiver.url)
    decide(site, marketing=True)
    now = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        deliver_due(now=now)
        now += timedelta(hours=7)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", MAX_ATTEMPTS, "HTTP 500")
    assert deliver_due(now=now + timedelta(days=30)).failed == 0
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 12)] == [30, 60, 120, 6 * 3600]


def test_redirects_and_unreachable_receivers_are_failures_to_retry(site, receivers):
    target = receivers()
    redirecting = receivers(302, location=target.url)
    create_endpoint(site=site, url=redirecting.url)
    create_endpoint(site=site, url="http://127.0.0.1:9/closed")
    decide(site, marketing=True)
    assert deliver_due().retrying == 2
    assert target.requests == []
    errors = set(WebhookAttempt.objects.values_list("status_code", "error"))
    assert (302, "HTTP 302") in errors
    assert any(code is None and error for code, error in errors)


def test_a_rotated_secret_signs_from_then_on(site, receivers):
    receiver = receivers()
    endpoint, old_secret = create_endpoint(site=site, url=receiver.url)
    new_secret = rotate_secret(endpoint)
    assert new_secret != old_secret and new_secret.startswith("whsec_")
    decide(site, marketing=True)
    deliver_due()
    headers, body = receiver.requests[0]
    verify_webhook(body, headers["CMP-Signature"], new_secret)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers["CMP-Signature"], old_secret)


def test_deliverwebhooks_once_sends_what_is_due(site, receivers, capsys):
    receiver = receivers()
    create_endpoint(site=site, url=receiver.url)
    record_decision(site=site_snapshot(site.key), action="accept_all", policy_version=1)
    call_command("deliverwebhooks", "--once")
    assert "1 delivered" in capsys.readouterr().out
    assert [c["event"] for c in receiver.events()[0]["changes"]] == ["opt_in"] * 3


def test_the_admin_shows_the_secret_once_and_the_delivery_log(site, receivers, admin_client):
    receiver = receivers(500)
    response = admin_client.post(
        "/admin/consent/webhookendpoint/add/",
        {"site": site.pk, "url": receiver.url, "description": "", "categories": "[]", "events": "[]", "active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Copy it now" in response.content.decode()
    decide(site, marketing=True)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    log = admin_client.get("/admin/consent/webhookdelivery/").content.decode()
    assert str(delivery.event_id) in log and "HTTP 500" in log
    detail = admin_client.get(f"/admin/consent/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert "consent.changed" in detail and "500" in detail
    listing = admin_client.get("/admin/consent/webhookendpoint/").content.decode()
    assert receiver.url in listing and "whsec_" not in listing


def test_a_paused_endpoints_deliveries_wait_for_it(site, receivers):
    receiver = receivers()
    endpoint, _ = create_endpoint(site=site, url=receiver.url)
    decide(site, marketing=True)
    endpoint.active = False
    endpoint.save()
    assert deliver_due().delivered == 0
    endpoint.active = True
    endpoint.save()
    assert deliver_due().delivered == 1
    assert len(receiver.requests) == 1


def test_an_erased_visitors_payloads_leave_the_outbox_and_its_log(site):
    """Only the erasure event, which the site needs to erase on its side, still names the visitor."""
    endpoint, _ = create_endpoint(site=site, url="http://127.0.0.1:9/")
    visitor = decide(site, marketing=True).consent_id
    decide(site, consent_id=visitor, action="withdraw")
    other = decide(site, analytics=True).consent_id
    WebhookDelivery.objects.filter(payload__consent_id=str(visitor)).update(status=WebhookDelivery.DELIVERED)
    erase_visitor(site_snapshot(site.key), visitor)
    assert [p["type"] for p in payloads(endpoint) if p["consent_id"] == str(visitor)] == ["consent.erased"]
    assert [p["consent_id"] for p in payloads(endpoint) if p["type"] != "consent.erased"] == [str(other)]


def test_consent_ids_are_redacted_from_the_logs():
    import logging

    from consent.logs import RedactConsentIds

    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactConsentIds) for f in h.filters))
    path = "/api/v1/sites/KEY/consents/2f1d3c4e-5b6a-4789-8abc-def012345678/forget"
    record = logging.getLogger("django.request").makeRecord(
        "django.request", logging.WARNING, __file__, 1, "Forbidden: %s", (path,), None
    )
    assert handler.filter(record)
    assert handler.format(record) == "Forbidden: /api/v1/sites/KEY/consents/<id>/forget"
