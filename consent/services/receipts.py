"""Signed receipts: what a visitor can keep as proof of their decision, and how to check one.

A receipt names the decision (id, time, choices, policy version, action, source) and its hash
in the visitor's chain, signed with HMAC-SHA256 under a key derived from SECRET_KEY. The key id
says which key signed it, so a key rotation leaves old receipts recognisable.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

from consent.models import ConsentRecord, ErasedRecord
from consent.residency import site_database
from consent.services.errors import UnknownVisitor
from consent.services.keys import derived_key, derived_keys, key_id
from consent.services.sites import SiteSnapshot
from consent.services.visitors import claim

FORMAT = "cmp-receipt/1"
ALGORITHM = "hmac-sha256"
SIGNED_FIELDS = (
    "format", "site", "consent_id", "decided_at", "categories", "action", "source", "policy_version", "hash", "key_id",
)  # fmt: skip


def _key() -> bytes:
    return derived_key("receipt")


def _signature(fields: Mapping, key: bytes | None = None) -> str:
    canonical = json.dumps({name: fields[name] for name in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key or _key(), canonical.encode(), hashlib.sha256).hexdigest()


def receipt(site: SiteSnapshot, consent_id, *, visitor_token: str | None = None, from_browser: bool = False) -> dict:
    """A signed receipt of the visitor's latest decision. Raises UnknownVisitor, and
    VisitorTokenRefused for a browser without the visitor's token."""
    if from_browser:
        claim(site.id, consent_id, visitor_token)
    records = ConsentRecord.objects.using(site_database(site))
    record = records.filter(site_id=site.id, consent_id=consent_id).order_by("-id").first()
    if record is None:
        raise UnknownVisitor(f"No decisions are recorded for consent id {consent_id}.")
    fields = {
        "format": FORMAT,
        "site": site.key,
        "consent_id": str(record.consent_id),
        "decided_at": record.created_at.astimezone(UTC).isoformat(),
        "categories": dict(sorted(record.categories.items())),
        "action": record.action,
        "source": record.source,
        "policy_version": record.policy_version,
        "hash": record.hash,
        "key_id": key_id(_key()),
    }
    return {**fields, "signature": _signature(fields)}


@dataclass(frozen=True)
class ReceiptCheck:
    valid: bool
    # Why not, or where the decision is now: recorded, erased (deleted on request or after
    # the retention period, its link kept), or unknown (not in this database).
    reason: str


def verify_receipt(site: SiteSnapshot, data: Mapping) -> ReceiptCheck:
    """Was this receipt signed by us for this site, unchanged, and is its decision still held?"""
    if not isinstance(data, Mapping) or any(name not in data for name in (*SIGNED_FIELDS, "signature")):
        return ReceiptCheck(False, "malformed")
    if data["format"] != FORMAT or data["site"] != site.key:
        return ReceiptCheck(False, "malformed")
    # Signed under SECRET_KEY or one of its fallbacks: a rotated secret keeps old receipts valid.
    key = next((k for k in derived_keys("receipt") if key_id(k) == data["key_id"]), None)
    if key is None:
        return ReceiptCheck(False, "unknown_key")
    try:
        expected = _signature(data, key)
    except (TypeError, ValueError):
        return ReceiptCheck(False, "malformed")
    if not isinstance(data["signature"], str) or not hmac.compare_digest(expected, data["signature"]):
        return ReceiptCheck(False, "bad_signature")
    database = site_database(site)
    if ConsentRecord.objects.using(database).filter(site_id=site.id, hash=data["hash"]).exists():
        return ReceiptCheck(True, "recorded")
    if ErasedRecord.objects.using(database).filter(site_id=site.id, hash=data["hash"]).exists():
        return ReceiptCheck(True, "erased")
    return ReceiptCheck(True, "unknown")
