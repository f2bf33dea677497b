"""Answering "may I?": the visitor's current consent, fail-closed, from the cache when it can."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from consent.models import REQUIRED_CATEGORY, Action, ConsentState
from consent.services.errors import InvalidDecision, UnknownCategory
from consent.services.records import state_cache_key
from consent.services.sites import SiteSnapshot, api_key_cache_key, api_key_touch_key, hash_api_key, site_cache_key

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
    return _current(site, consent_id, cache.get(state_cache_key(site.id, consent_id)))


def _current(site: SiteSnapshot, consent_id, cached: tuple | str | None) -> CurrentConsent | None:
    """The current decision from what the cache held (None: nothing), else from the database."""
    if cached is None:
        state = ConsentState.objects.filter(site_id=site.id, consent_id=consent_id).first()
        cached = _cached_state(state) if state else NO_DECISION
        cache.set(state_cache_key(site.id, consent_id), cached, STATE_CACHE_SECONDS)
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


# A site key never changes hands, so each process may remember the site's id: it names the
# visitor's state in the cache, fetched in the same round trip as the site itself.
_site_ids: dict[str, int] = {}


def check_with_api_key(*, site_key: str, token: str, consent_id: uuid.UUID, key: str) -> tuple[bool, str] | None:
    """The check of an API request in one cache round trip: site, key, its last use and state.

    Answers only when the site and the key are cached, the key is active and the site's own,
    its last_used_at needs no write, and the category exists; a state not cached yet is read
    from the database as in check_category. Otherwise None: the caller then takes the full path,
    which loads what is missing and gives the right error.
    """
    key_hash = hash_api_key(token)
    site_name, owner_name, touch_name = (
        site_cache_key(site_key),
        api_key_cache_key(key_hash),
        api_key_touch_key(key_hash),
    )
    site_id = _site_ids.get(site_key)
    state_name = state_cache_key(site_id, consent_id) if site_id is not None else None
    found = cache.get_many([site_name, owner_name, touch_name] + ([state_name] if state_name else []))
    site, owner = found.get(site_name), found.get(owner_name)
    if not (site and owner and touch_name in found and owner.site_id == site.id and key in site.categories):
        return None
    if site_id != site.id:
        _site_ids[site_key] = site.id
        state_name = None
    return _allowed(_current(site, consent_id, found.get(state_name) if state_name else None), key)


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
