"""A small client for backend services, standard library only (copy it into any project).

`ConsentClient.allowed(consent_id, category)` asks the CMP's check API with a timeout, and answers
False on any failure (fail closed). It keeps refusals for a short while and never a "yes": a kept
"yes" would outlive a withdrawal, a kept "no" can only delay an opt-in (call `forget` from the
webhook handler to end that delay). `verify_webhook` checks a
webhook's signature and rejects replays.
"""

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict

REQUIRED_CATEGORY = "authentication"


class ConsentClient:
    """Asks "may I?" for one site. Thread-safe; one instance per process is enough.

    >>> client = ConsentClient("https://cmp.example", "SITE_KEY", "cmp_...", timeout=2, cache_seconds=30)
    >>> if client.allowed(consent_id, "marketing"):
    ...     send_to_ad_platform(...)
    """

    def __init__(
        self,
        base_url: str,
        site_key: str,
        api_key: str,
        *,
        timeout: float = 2.0,
        cache_seconds: float = 30.0,
        max_cached: int = 10_000,
    ):
        self.base = f"{base_url.rstrip('/')}/api/v1/sites/{urllib.parse.quote(site_key, safe='')}"
        self.api_key = api_key
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.max_cached = max_cached
        self._cache: OrderedDict[tuple[str, str, str], tuple[float, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def allowed(self, consent_id, category: str, *, region: str = "") -> bool:
        """True only when the CMP says so now; False on a refusal, a timeout, an error or a bad
        answer. Refusals are kept for `cache_seconds`; grants and failures are not: every "yes" is
        the server's answer of this moment, so a withdrawal is obeyed at once.

        `region` (US-CA, DE), where your service knows the visitor's, answers a visitor who never
        decided by their region's regime: under an opt-out regime, allowed until they opt out."""
        if category == REQUIRED_CATEGORY:
            return True
        key = (str(consent_id), category, region)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] > now:
                return hit[1]
        answer = self._ask(*key)
        if answer is None:
            return False
        if answer:
            return True
        with self._lock:
            self._cache[key] = (now + self.cache_seconds, answer)
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return answer

    def forget(self, consent_id=None) -> None:
        """Drop kept refusals (of one visitor, or all), e.g. when a verified webhook says the visitor
        opted in, so that the next call asks the server."""
        with self._lock:
            if consent_id is None:
                self._cache.clear()
            else:
                for key in [k for k in self._cache if k[0] == str(consent_id)]:
                    del self._cache[key]

    def _ask(self, consent_id: str, category: str, region: str) -> bool | None:
        path = f"/consents/{urllib.parse.quote(consent_id, safe='')}/categories/{urllib.parse.quote(category, safe='')}"
        if region:
            path += "?" + urllib.parse.urlencode({"region": region})
        request = urllib.request.Request(  # noqa: S310 (the operator's own https/http base URL)
            self.base + path, headers={"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = json.loads(response.read(65536))
        except (urllib.error.URLError, OSError, ValueError):
            return None
        allowed = body.get("allowed") if isinstance(body, dict) else None
        return allowed if isinstance(allowed, bool) else None


class WebhookVerificationError(Exception):
    """The webhook is not ours, was altered, is too old, or was seen before: answer 400 and drop it."""


class DuplicateWebhook(WebhookVerificationError):
    """An event id already received. Our own retries reuse the id (delivery is at least once),
    so answer 2xx without acting again; a replayed request is refused all the same."""


class SeenEventIds:
    """Event ids seen within the tolerance window, in memory. For several processes use a shared
    store with the same `add(event_id, until) -> bool` method (e.g. Redis SET NX EX)."""

    def __init__(self):
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, event_id: str, until: float) -> bool:
        """Remember the id until the given unix time; False if it was already there."""
        now = time.time()
        with self._lock:
            self._until = {k: t for k, t in self._until.items() if t > now}
            if event_id in self._until:
                return False
            self._until[event_id] = until
            return True


def verify_webhook(
    body: bytes,
    signature_header: str,
    secret: str,
    *,
    tolerance: int = 300,
    seen: SeenEventIds | None = None,
    now: float | None = None,
) -> dict:
    """Check a webhook and return its event. Raises WebhookVerificationError when the
    `CMP-Signature` header (`t=<unix>,v1=<hex>`) does not match HMAC-SHA256(secret, f"{t}.{body}"),
    when t is more than `tolerance` seconds away, and DuplicateWebhook when `seen` already holds
    the event id."""
    now = time.time() if now is None else now
    if isinstance(body, str):
        body = body.encode()
    timestamp, signatures = None, []
    for part in (signature_header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookVerificationError("No timestamp or signature in the CMP-Signature header.")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise WebhookVerificationError("The signature does not match: wrong secret or altered body.")
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError(f"The webhook was signed {int(now - timestamp)} s ago: a replay, refused.")
    try:
        event = json.loads(body)
    except ValueError:
        raise WebhookVerificationError("The body is not JSON.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise WebhookVerificationError("The body is not a CMP event.")
    if seen is not None and not seen.add(event["id"], timestamp + tolerance):
        raise DuplicateWebhook(f"Event {event['id']} was already received: not acted on again.")
    return event
