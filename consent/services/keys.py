"""Keys: one per purpose, derived from SECRET_KEY, and the rotation of SECRET_KEY.

Each keyed hash has a key of its own (`derived_key("receipt")`, "checkpoint", "api-key",
"webhook", "consent-digest"), so that no purpose's key reveals another's. To rotate the secret,
put the new one in SECRET_KEY and the old one first in SECRET_KEY_FALLBACKS (comma-separated in
the environment): new signatures use the new key, and everything made under an old one still
verifies (receipts, checkpoints), still authenticates (API keys, rehashed under the new key on
their first use) and still signs (each webhook endpoint keeps the key its secret came from until
its secret is rotated). Drop an old key from the fallbacks only once no endpoint uses it
(`python manage.py shell -c "from consent.services.keys import endpoints_on_old_keys as e; print(e())"`).
"""

import hashlib
import hmac

from django.conf import settings


def secrets_in_use() -> list[str]:
    """SECRET_KEY, then its fallbacks, newest first."""
    return [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]


def derived_key(purpose: str, secret: str | None = None) -> bytes:
    """The key for one purpose, from SECRET_KEY or the given (older) secret."""
    return hmac.new((secret or settings.SECRET_KEY).encode(), f"cmp:{purpose}".encode(), hashlib.sha256).digest()


def derived_keys(purpose: str) -> list[bytes]:
    """The purpose's key under each secret in use, the current one first."""
    return [derived_key(purpose, secret) for secret in secrets_in_use()]


def key_id(key: bytes) -> str:
    """A name for a key that reveals nothing of it: which key signed, without the key."""
    return f"hmac-sha256:{hashlib.sha256(key).hexdigest()[:16]}"


def endpoints_on_old_keys() -> list[str]:
    """Webhook endpoints whose secret still comes from a fallback key: rotate them before
    dropping that key."""
    from consent.models import WebhookEndpoint

    current = key_id(derived_key("webhook"))
    return [str(endpoint) for endpoint in WebhookEndpoint.objects.exclude(secret_key_id=current)]
