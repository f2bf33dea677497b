"""Answering "may I?": the visitor's current consent, fail-closed, from the cache when it can."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from consent.models import REQUIRED_CATEGORY, Action, ConsentState
from consent.services.errors import InvalidDecision, UnknownCategory
from consent.services.records import state_cache_key
from consent.services.sites import SiteSnapshot

STATE_CACHE_SECONDS = 3600
MAX_BATCH = 1000
# Cached in place of a state for a visitor who never decided, so that repeated checks of
# unknown ids also skip the database. A decision deletes it.
NO_DECISION = "none"


@dataclass(frozen=True)
class CurrentConsent:
    consent_id: str
    categories: dict[str, bool]
    action: str
    source: str
    policy_version: int
    decided_at: datetime
    expires_at: datetime
    status: str


def _cached_state(state: ConsentState) -> tuple:
    return (state.categories, state.action, state.source, state.policy_version, state.decided_at)


def _to_current(site: SiteSnapshot, consent_id, cached: tuple, now: datetime) -> CurrentConsent:
    categories, action, source, policy_version, decided_at = cached
    expires_at = decided_at + timedelta(days=site.lifetime_days)
    if action == Action.WITHDRAW:
        status = "withdrawn"
    elif policy_version < site.required_version:
        status = "outdated"
    elif expires_at <= now:
        status = "expired"
    else:
        status = "valid"
    return CurrentConsent(str(consent_id), categories, action, source, policy_version, decided_at, expires_at, status)


def current_consent(site: SiteSnapshot, consent_id) -> CurrentConsent | None:
    """The visitor's current decision with its status, or None if they never decided."""
    key = state_cache_key(site.id, consent_id)
    cached = cache.get(key)
    if cached is None:
        state = ConsentState.objects.filter(site_id=site.id, consent_id=consent_id).first()
        cached = _cached_state(state) if state else NO_DECISION
        cache.set(key, cached, STATE_CACHE_SECONDS)
    if cached == NO_DECISION:
        return None
    return _to_current(site, consent_id, cached, timezone.now())


def _allowed(current: CurrentConsent | None, key: str) -> tuple[bool, str]:
    if key == REQUIRED_CATEGORY:
        return True, "strictly_necessary"
    if current is None:
        return False, "no_decision"
    if current.status != "valid":
        return False, current.status
    if key not in current.categories:
        return False, "not_asked"
    return (True, "granted") if current.categories[key] else (False, "refused")


def check_category(site: SiteSnapshot, consent_id, key: str) -> tuple[bool, str]:
    """May this visitor be tracked for this category? Anything but a valid yes is a no."""
    if key not in site.categories:
        raise UnknownCategory(f"The site has no category {key!r}: it has {', '.join(site.categories)}.")
    return _allowed(current_consent(site, consent_id), key)


def check_many(site: SiteSnapshot, consent_ids: list, keys: list[str] | None = None) -> dict[str, dict[str, bool]]:
    """The check for many visitors at once: one cache round trip and at most one query."""
    if len(consent_ids) > MAX_BATCH:
        raise InvalidDecision(f"At most {MAX_BATCH} consent ids per request.", field="consent_ids")
    keys = list(keys) if keys else list(site.categories)
    unknown = sorted(set(keys) - set(site.categories))
    if unknown:
        raise UnknownCategory(f"The site has no categories {', '.join(unknown)}.")
    cache_keys = {state_cache_key(site.id, cid): cid for cid in consent_ids}
    found = {cache_keys[k]: v for k, v in cache.get_many(list(cache_keys)).items()}
    missing = [cid for cid in consent_ids if cid not in found]
    if missing:
        loaded = {
            state.consent_id: _cached_state(state)
            for state in ConsentState.objects.filter(site_id=site.id, consent_id__in=missing)
        }
        for cid in missing:
            found[cid] = loaded.get(cid, NO_DECISION)
        cache.set_many({state_cache_key(site.id, cid): found[cid] for cid in missing}, STATE_CACHE_SECONDS)
    now = timezone.now()
    results = {}
    for cid in consent_ids:
        cached = found[cid]
        current = None if cached == NO_DECISION else _to_current(site, cid, cached, now)
        results[str(cid)] = {key: _allowed(current, key)[0] for key in keys}
    return results
