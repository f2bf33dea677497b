"""Reading the visitor's `cmp_consent` cookie on a site's own server, standard library only.

The widget writes encodeURIComponent(JSON.stringify({"v": 1, "id": "<consent uuid>",
"pv": <policy version>, "t": <decided, unix s>, "exp": <expires, unix s>, "src": "banner",
"c": {"analytics": 1, ...}})). Anything missing, garbled or expired counts as no consent
(fail closed); `authentication` is always allowed.
"""

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

COOKIE_NAME = "cmp_consent"
REQUIRED_CATEGORY = "authentication"


@dataclass(frozen=True)
class CookieDecision:
    consent_id: str
    policy_version: int
    decided_at: int
    expires_at: int
    source: str
    categories: dict[str, bool] = field(default_factory=dict)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_consent_cookie(value: str | None) -> CookieDecision | None:
    """The decision in a cookie value, or None when it is absent or not one the widget wrote."""
    if not value or len(value) > 8192:
        return None
    try:
        data = json.loads(unquote(value))
        consent_id = str(uuid.UUID(data["id"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    choices = data.get("c")
    if data.get("v") != 1 or not isinstance(choices, dict):
        return None
    if not all(_is_int(data.get(name)) for name in ("pv", "t", "exp")):
        return None
    # 1 or 0 as the widget writes them; true or false accepted too.
    if not all(isinstance(key, str) and on in (0, 1) and not isinstance(on, float) for key, on in choices.items()):
        return None
    return CookieDecision(
        consent_id=consent_id,
        policy_version=data["pv"],
        decided_at=data["t"],
        expires_at=data["exp"],
        source=data.get("src") if isinstance(data.get("src"), str) else "",
        categories={key: bool(on) for key, on in choices.items()},
    )


class RequestConsent:
    """What the visitor's cookie allows, as `request.consent`.

    status: "valid", or why nothing but authentication is allowed: "missing", "invalid",
    "expired", "outdated" (decided under a policy version older than the required one).
    """

    def __init__(self, decision: CookieDecision | None, status: str):
        self.decision = decision
        self.status = status

    @property
    def consent_id(self) -> str | None:
        return self.decision.consent_id if self.decision else None

    def allows(self, category: str) -> bool:
        if category == REQUIRED_CATEGORY:
            return True
        return self.status == "valid" and self.decision.categories.get(category, False)

    def __repr__(self) -> str:
        return f"<RequestConsent {self.status} {self.consent_id}>"


def consent_from_cookies(
    cookies: Mapping[str, str],
    *,
    cookie_name: str = COOKIE_NAME,
    required_version: int = 0,
    now: float | None = None,
) -> RequestConsent:
    """The visitor's consent from a request's cookies, fail-closed."""
    raw = cookies.get(cookie_name)
    if not raw:
        return RequestConsent(None, "missing")
    decision = parse_consent_cookie(raw)
    if decision is None:
        return RequestConsent(None, "invalid")
    if decision.expires_at <= (time.time() if now is None else now):
        return RequestConsent(decision, "expired")
    if decision.policy_version < required_version:
        return RequestConsent(decision, "outdated")
    return RequestConsent(decision, "valid")
