"""Visitor tokens: what binds a consent id to the browser that made it.

The widget makes a random token with the consent id and keeps both in the visitor's cookie. The
first decision stores the token's SHA-256 with the visitor's state; from then on a browser's
change, erasure or receipt for that id must carry the token. Knowing a consent id (it reaches
backend services, webhook payloads and logs) is no longer enough to act as the visitor. Backend
services act with the site's API key instead.

Visitors whose first decision predates tokens have none stored. Until their browser claims one
(the widget does so on its next page view, once), their id works as before; the first token
presented claims it, and from then on it is required. Why that is safe enough: a claim needs the
consent id, which before this release was already all that was needed to act as the visitor; each
such id can be claimed once, its own browser claims it at once, and after that no one else can.
"""

import hashlib
import re
import secrets

from consent.models import ConsentState
from consent.services.errors import InvalidDecision, VisitorTokenRefused

# What the widget makes: 128 random bits or more, URL-safe.
TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,128}$")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    # A random 128-bit-or-more secret needs no slow or keyed hash: its hash alone reveals nothing.
    return hashlib.sha256(token.encode()).hexdigest()


def validate_token(token: str | None) -> None:
    if token is not None and not TOKEN.match(token):
        raise InvalidDecision("A visitor token is 22 to 128 letters, digits, - or _.", field="token")


def authorise(state: ConsentState, token: str | None) -> bool:
    """Whether a browser holding `token` may act for this visitor. Claims a legacy visitor's
    first token, on the (locked) state the caller saves. Raises VisitorTokenRefused."""
    validate_token(token)
    if not state.token_hash:
        if token:
            state.token_hash = token_hash(token)
            return True  # claimed: the caller saves the state
        return False
    if not token or not secrets.compare_digest(state.token_hash, token_hash(token)):
        raise VisitorTokenRefused(
            "This consent id belongs to another browser: send the visitor token it was made with.", field="token"
        )
    return False


def claim(site_id: int, consent_id, token: str | None) -> None:
    """Check (and for a visitor who has none yet, claim) the token of an existing visitor, for a
    browser's request that changes nothing else. Raises UnknownVisitor, VisitorTokenRefused."""
    from django.db import transaction

    from consent.residency import site_database
    from consent.services.errors import UnknownVisitor

    database = site_database(site_id)
    with transaction.atomic(using=database):
        state = (
            ConsentState.objects.using(database)
            .select_for_update()
            .filter(site_id=site_id, consent_id=consent_id)
            .first()
        )
        if state is None:
            raise UnknownVisitor(f"No decisions are recorded for consent id {consent_id}.")
        if authorise(state, token):
            state.save(update_fields=["token_hash"])
