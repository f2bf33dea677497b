"""Webhooks: a signed POST to a site's endpoints when a visitor's consent for a category changes.

Events are written to an outbox (WebhookDelivery) in the same transaction as the change, so a
crash or restart loses nothing; `deliverwebhooks` sends them at least once, retrying with
exponential backoff. Each POST is signed: `CMP-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`, and carries the event id, so a receiver can reject forgeries and replays
(consent.client.verify_webhook).

The outbox is the visitors' data (its payloads are their decisions): a site's deliveries and their
attempts live in its database alone (consent.residency), written in the decision's transaction
there; the worker and the pruning go through every database's outbox.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from consent.models import (
    REQUIRED_CATEGORY,
    Action,
    ConsentRecord,
    ConsentState,
    ExpiryScan,
    Site,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from consent.residency import databases, site_database
from consent.services.audit import record_change
from consent.services.keys import derived_key, derived_keys, key_id
from consent.services.outbound import CheckedHTTPHandler, CheckedHTTPSHandler, UnsafeDestination, check_url
from consent.services.sites import SiteSnapshot, site_snapshot

SIGNATURE_HEADER = "CMP-Signature"
EVENT_ID_HEADER = "CMP-Event-Id"
MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 6 * 3600
# A claimed delivery whose worker died is retried after this long.
LEASE_SECONDS = 120
TIMEOUT_SECONDS = 10


class SecretKeyGone(Exception):
    """The key an endpoint's secret came from is no longer SECRET_KEY nor one of its fallbacks."""


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's signing secret: derived from the endpoint's salt and the key it was made
    under (SECRET_KEY, or a fallback of a rotated SECRET_KEY), never stored. Raises SecretKeyGone."""
    if not endpoint.secret_key_id:
        # Made before endpoints remembered their key, or by the admin's form: pin the current one.
        endpoint.secret_key_id = key_id(derived_key("webhook"))
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret_key_id=endpoint.secret_key_id)
    key = next((k for k in derived_keys("webhook") if key_id(k) == endpoint.secret_key_id), None)
    if key is None:
        raise SecretKeyGone(
            f"The secret of {endpoint.url} comes from a key that is no longer SECRET_KEY nor in SECRET_KEY_FALLBACKS: "
            "rotate the endpoint's secret."
        )
    digest = hmac.new(key, f"{endpoint.pk}:{endpoint.secret_salt}".encode(), hashlib.sha256)
    return "whsec_" + digest.hexdigest()


def create_endpoint(
    *,
    site: Site,
    url: str,
    categories: list[str] | None = None,
    events: list[str] | None = None,
    description: str = "",
    by=None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint. Returns it and its secret, which is shown only once. Raises
    ValidationError, also for a URL whose host is not on the public internet (consent.services.outbound)."""
    endpoint = WebhookEndpoint(
        site=site, url=url, categories=categories or [], events=events or [], description=description
    )
    endpoint.full_clean()
    check_endpoint_url(url)
    endpoint.secret_key_id = key_id(derived_key("webhook"))
    with transaction.atomic():
        endpoint.save()
        record_change(site=site, user=by, action="added", target=f"webhook endpoint {url}")
    return endpoint, endpoint_secret(endpoint)


def check_endpoint_url(url: str) -> None:
    """ValidationError for a URL this server must not call (its own host or network)."""
    try:
        check_url(url)
    except UnsafeDestination as error:
        raise ValidationError({"url": [str(error)]}) from None


def rotate_secret(endpoint: WebhookEndpoint, *, by=None) -> str:
    """A new secret for the endpoint (the old one stops verifying at once). Shown only once."""
    endpoint.secret_salt = WebhookEndpoint._meta.get_field("secret_salt").default()
    endpoint.secret_key_id = key_id(derived_key("webhook"))
    with transaction.atomic():
        endpoint.save(update_fields=["secret_salt", "secret_key_id"])
        record_change(site=endpoint.site, user=by, action="rotated", target=f"webhook secret of {endpoint.url}")
    return endpoint_secret(endpoint)


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _enqueue(site: SiteSnapshot, consent_id, kind: str, changes: list[dict], extra: dict) -> int:
    """One delivery per endpoint whose filters match some change, with the changes it asked for."""
    deliveries = []
    now = timezone.now()
    for endpoint_id, categories, events in site.webhooks:
        wanted = [
            c
            for c in changes
            if (not categories or c["category"] in categories) and (not events or c["event"] in events)
        ]
        if not wanted:
            continue
        event_id = uuid.uuid4()
        payload = {
            "id": str(event_id),
            "type": kind,
            "created": _unix(now),
            "site": site.key,
            "consent_id": str(consent_id),
            "changes": wanted,
            **extra,
        }
        deliveries.append(WebhookDelivery(endpoint_id=endpoint_id, event_id=event_id, payload=payload))
    WebhookDelivery.objects.using(site_database(site)).bulk_create(deliveries)
    return len(deliveries)


def _effective(site: SiteSnapshot, state: tuple | None, now: datetime) -> dict[str, bool]:
    """What the check API answered per category for a state (categories, action, version, time)."""
    if state is None:
        return {}
    categories, action, policy_version, decided_at = state
    valid = (
        action != Action.WITHDRAW
        and policy_version >= site.required_version
        and decided_at + timedelta(days=site.lifetime_days) > now
    )
    return {key: bool(value) and valid for key, value in categories.items()}


def enqueue_decision(site: SiteSnapshot, before: tuple | None, record: ConsentRecord) -> int:
    """Events for a new decision: each category whose answer changed (opt-in, opt-out, or
    withdrawal when the visitor withdrew). Call inside the decision's transaction, on the site's
    database."""
    if not site.webhooks:
        return 0
    old = _effective(site, before, record.created_at)
    new = _effective(
        site, (record.categories, record.action, record.policy_version, record.created_at), record.created_at
    )
    changes = []
    for key in site.categories:
        if key == REQUIRED_CATEGORY or old.get(key, False) == new.get(key, False):
            continue
        if new.get(key):
            event = WebhookEvent.OPT_IN
        else:
            event = WebhookEvent.WITHDRAWAL if record.action == Action.WITHDRAW else WebhookEvent.OPT_OUT
        changes.append({"category": key, "event": str(event), "allowed": bool(new.get(key))})
    if not changes:
        return 0
    extra = {
        "categories": record.categories,
        "action": record.action,
        "policy_version": record.policy_version,
        "decided_at": record.created_at.astimezone(UTC).isoformat(),
    }
    return _enqueue(site, record.consent_id, "consent.changed", changes, extra)


def enqueue_erasure(site: SiteSnapshot, consent_id) -> int:
    """An erasure event naming every category: the service deletes what it holds of the
    visitor. Call inside the erasure's transaction, on the site's database."""
    if not site.webhooks:
        return 0
    changes = [
        {"category": key, "event": str(WebhookEvent.ERASURE), "allowed": False}
        for key in site.categories
        if key != REQUIRED_CATEGORY
    ]
    return _enqueue(site, consent_id, "consent.erased", changes, {})


def notify_expired(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Events for decisions that expired since the last scan, for the categories they granted.

    Each site's scan starts at its first endpoint's creation and moves forward, so every
    expiry is announced once. Returns the number of deliveries queued.
    """
    now = now or timezone.now()
    queued = 0
    site_ids = WebhookEndpoint.objects.filter(active=True).values_list("site_id", flat=True).distinct()
    for site in Site.objects.filter(pk__in=list(site_ids)):
        snapshot = site_snapshot(site.key)
        lifetime = timedelta(days=snapshot.lifetime_days)
        database = site_database(site)
        # The scan's mark is in the default database, the states and the events in the site's. The
        # events commit first: a failure in between announces an expiry twice, never not at all.
        with transaction.atomic(), transaction.atomic(using=database):
            start = (
                WebhookEndpoint.objects.filter(site=site).order_by("created_at").values_list("created_at", flat=True)
            )
            scan, _ = ExpiryScan.objects.select_for_update().get_or_create(
                site=site, defaults={"scanned_until": start.first()}
            )
            expired = (
                ConsentState.objects.using(database)
                .filter(site=site, decided_at__gt=scan.scanned_until - lifetime, decided_at__lte=now - lifetime)
                .exclude(action=Action.WITHDRAW)
            )
            for state in expired.iterator(chunk_size=batch_size):
                changes = [
                    {"category": key, "event": str(WebhookEvent.EXPIRY), "allowed": False}
                    for key, value in state.categories.items()
                    if value and key != REQUIRED_CATEGORY
                ]
                if changes:
                    extra = {"decided_at": state.decided_at.astimezone(UTC).isoformat()}
                    queued += _enqueue(snapshot, state.consent_id, "consent.expired", changes, extra)
            scan.scanned_until = max(scan.scanned_until, now)
            scan.save(update_fields=["scanned_until"])
    return queued


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The CMP-Signature header value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer we do not follow: the POST would silently become a GET."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect, CheckedHTTPHandler, CheckedHTTPSHandler)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 30 s, 1 min, 2 min... up to 6 h."""
    return timedelta(seconds=min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)))


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def _claim(now: datetime, limit: int, using: str = DEFAULT_DB_ALIAS) -> list[WebhookDelivery]:
    """Take due deliveries of active endpoints from one database's outbox and lease them, so that
    parallel workers never send the same one at once, and one whose worker died comes due again
    when the lease runs out. A paused (inactive) endpoint's deliveries wait for it (a region's
    database reads `active` from its copy of the endpoint)."""
    outbox = WebhookDelivery.objects.using(using)
    with transaction.atomic(using=using):
        due = (
            outbox.select_for_update(skip_locked=True, of=("self",))
            .filter(status=WebhookDelivery.PENDING, next_attempt_at__lte=now, endpoint__active=True)
            .order_by("next_attempt_at", "id")
        )
        claimed = list(due[:limit])
        outbox.filter(pk__in=[d.pk for d in claimed]).update(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
    return claimed


def _post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) URLField)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500] or type(exc).__name__


def deliver_due(*, now: datetime | None = None, limit: int = 100, timeout: float = TIMEOUT_SECONDS) -> DeliveryReport:
    """Send the deliveries that are due, once each, from every database's outbox (at most `limit`
    from each, so that one busy region does not hold up the others); failures are scheduled again
    with backoff and given up after MAX_ATTEMPTS tries."""
    now = now or timezone.now()
    report = DeliveryReport()
    for using in databases():
        for delivery in _claim(now, limit, using=using):
            outcome = _attempt(delivery, now=now, timeout=timeout, using=using)
            if outcome == WebhookDelivery.DELIVERED:
                report.delivered += 1
            elif outcome == WebhookDelivery.FAILED:
                report.failed += 1
            elif outcome == WebhookDelivery.PENDING:
                report.retrying += 1
    return report


def _attempt(delivery: WebhookDelivery, *, now: datetime, timeout: float, using: str) -> str | None:
    """POST a claimed delivery once and log the attempt beside it, in its database. Returns its
    status after the attempt (None when its endpoint is gone)."""
    endpoint = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).first()
    if endpoint is None:
        return None  # deleted since: its deliveries went with it
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    started = time.monotonic()
    try:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "cmp-webhooks/1",
            SIGNATURE_HEADER: sign(endpoint_secret(endpoint), int(time.time()), body),
            EVENT_ID_HEADER: str(delivery.event_id),
        }
    except SecretKeyGone as gone:
        status_code, error = None, str(gone)[:500]
    else:
        status_code, error = _post(endpoint.url, body, headers, timeout)
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    WebhookAttempt.objects.using(using).create(
        delivery=delivery, attempted_at=now, status_code=status_code, error=error, duration_ms=duration_ms
    )
    delivery.attempts += 1
    delivery.last_error = error
    if ok:
        delivery.status, delivery.delivered_at = WebhookDelivery.DELIVERED, now
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.FAILED
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(using=using, update_fields=["status", "attempts", "last_error", "next_attempt_at", "delivered_at"])
    return delivery.status


def redeliver(delivery: WebhookDelivery) -> None:
    """Queue a delivery again now (admin action), whatever became of it."""
    delivery.status = WebhookDelivery.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])


def forget_deliveries(site_id: int, consent_ids) -> int:
    """Delete the deliveries about these visitors, sent or not: an erased visitor's id and choices
    are not kept in the outbox or its log. The erasure event itself is queued afterwards."""
    about = (
        WebhookDelivery.objects.using(site_database(site_id))
        .filter(endpoint__site_id=site_id, payload__consent_id__in=[str(consent_id) for consent_id in consent_ids])
        .exclude(payload__type="consent.erased")
    )
    _, per_model = about.delete()
    return per_model.get(WebhookDelivery._meta.label, 0)


def prune_deliveries(*, before: datetime) -> int:
    """Delete finished deliveries created before `before`, in every database (the delivery log is
    kept for a while, not forever: payloads name visitors)."""
    pruned = 0
    for using in databases():
        finished = WebhookDelivery.objects.using(using).filter(
            status__in=[WebhookDelivery.DELIVERED, WebhookDelivery.FAILED], created_at__lt=before
        )
        _, per_model = finished.delete()
        pruned += per_model.get(WebhookDelivery._meta.label, 0)
    return pruned
