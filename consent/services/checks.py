"""Answering "may I?": the visitor's current consent, fail-closed, from the cache when it can."""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from consent import cache, metrics
from consent.models import REQUIRED_CATEGORY, Action, ConsentState
from consent.residency import site_database, states_cached
from consent.services.errors import InvalidDecision, UnknownCategory, UnknownSite
from consent.services.regimes import NOTICE, OPT_IN, OPT_OUT
from consent.services.sites import (
    SiteSnapshot,
    hash_api_key,
    load_key_owner,
    load_snapshot,
    note_key_used,
)

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
    regime: str = OPT_IN


def _cached_state(state: ConsentState) -> tuple:
    return (state.categories, state.action, state.source, state.policy_version, state.decided_at, state.regime)


def _to_current(site: SiteSnapshot, consent_id, cached: tuple, now: datetime) -> CurrentConsent:
    categories, action, source, policy_version, decided_at, regime = cached
    expires_at = decided_at + timedelta(days=site.lifetime_days)
    if action == Action.WITHDRAW:
        status = "withdrawn"
    elif policy_version < site.required_version:
        status = "outdated"
    elif expires_at <= now:
        status = "expired"
    else:
        status = "valid"
    return CurrentConsent(
        str(consent_id), categories, action, source, policy_version, decided_at, expires_at, status, regime
    )


def current_consent(site: SiteSnapshot, consent_id) -> CurrentConsent | None:
    """The visitor's current decision with its status, or None if they never decided."""
    if not states_cached(site):
        return _current(site, consent_id, _load_state(site, consent_id))
    cached = cache.get_or_load(cache.state_name(site.id, consent_id), lambda: _load_state(site, consent_id))
    return _current(site, consent_id, cached)


def _load_state(site: SiteSnapshot, consent_id) -> tuple | str:
    state = ConsentState.objects.using(site_database(site)).filter(site_id=site.id, consent_id=consent_id).first()
    return _cached_state(state) if state else NO_DECISION


def _current(site: SiteSnapshot, consent_id, cached: tuple | str) -> CurrentConsent | None:
    if cached == NO_DECISION:
        return None
    return _to_current(site, consent_id, cached, timezone.now())


def _allowed(current: CurrentConsent | None, key: str, regime: str = OPT_IN) -> tuple[bool, str]:
    """The answer and its reason. Under opt-in, anything but a valid yes is a no. Under opt-out
    (the regime the visitor decided under, or, with no decision, the one of their region as the
    caller knows it), a category is allowed until the visitor opts out of it, and an opt-out never
    expires into a yes. Under notice, allowed."""
    if key == REQUIRED_CATEGORY:
        return True, "strictly_necessary"
    if current is None:
        if regime == OPT_OUT:
            return True, "not_opted_out"
        return (True, "notice") if regime == NOTICE else (False, "no_decision")
    if current.regime == OPT_OUT:
        return (False, "opted_out") if current.categories.get(key) is False else (True, "not_opted_out")
    if current.status != "valid":
        return False, current.status
    if key not in current.categories:
        return False, "not_asked"
    return (True, "granted") if current.categories[key] else (False, "refused")


def check_category(site: SiteSnapshot, consent_id, key: str, region: str | None = None) -> tuple[bool, str]:
    """May this visitor be tracked for this category? Under opt-in anything but a valid yes is a no.

    `region` (US-CA, DE), where the caller knows it, answers for a visitor who never decided: under
    an opt-out regime they are allowed until they opt out. Without it such a visitor is refused.
    """
    if key not in site.categories:
        raise UnknownCategory(f"The site has no category {key!r}: it has {', '.join(site.categories)}.")
    regime = site.regime_in(region) if region is not None else OPT_IN
    answer = _allowed(current_consent(site, consent_id), key, regime)
    metrics.count_check(site.key, answer)
    return answer


# A site key never changes hands, so each process may remember the site's id: it names the
# visitor's state in the cache, fetched in the same round trip as the site itself.
_site_ids: dict[str, int] = {}


def check_with_api_key(*, site_key: str, token: str, consent_id: uuid.UUID, key: str) -> tuple[bool, str] | None:
    """The check of an API request without DRF: site, key, its last use and the visitor's state in
    one cache round trip, and whatever missed from the database.

    Answers only when the site exists, the key is active and the site's own, and the category
    exists; otherwise None, and the caller takes the full path, which gives the right error.
    """
    key_hash = hash_api_key(token)
    names = {"site": cache.site_name(site_key), "owner": cache.api_key_name(key_hash)}
    site_id = _site_ids.get(site_key)
    if site_id is not None:
        names["state"] = cache.state_name(site_id, consent_id)
    touch = cache.touch_name(key_hash)
    found = cache.fetch(list(names.values()), flags=[touch])
    loaded = {}
    site = found.get(names["site"])
    if site is cache.MISSING:
        try:
            site = loaded[names["site"]] = load_snapshot(site_key)
        except UnknownSite:
            return None
    owner = found.get(names["owner"])
    if owner is cache.MISSING:
        owner = loaded[names["owner"]] = load_key_owner(token)
    if not (owner and owner.site_id == site.id and key in site.categories):
        found.store(loaded)
        return None
    if touch in found.due:
        note_key_used(owner)
    if site_id != site.id:
        # First check of this site in this process: its state was not part of the read. (A site
        # whose states are not cached is never remembered, so its states are never asked for.)
        if states_cached(site):
            _site_ids[site_key] = site.id
        found.store(loaded)
        answer = _allowed(current_consent(site, consent_id), key)
    else:
        state = found.get(names["state"])
        if state is cache.MISSING:
            state = loaded[names["state"]] = _load_state(site, consent_id)
        found.store(loaded)
        answer = _allowed(_current(site, consent_id, state), key)
    metrics.count_check(site_key, answer)
    return answer


def check_many(site: SiteSnapshot, consent_ids: list, keys: list[str] | None = None) -> dict[str, dict[str, bool]]:
    """The check for many visitors at once: one cache round trip and at most one query."""
    if len(consent_ids) > MAX_BATCH:
        raise InvalidDecision(f"At most {MAX_BATCH} consent ids per request.", field="consent_ids")
    keys = list(keys) if keys else list(site.categories)
    unknown = sorted(set(keys) - set(site.categories))
    if unknown:
        raise UnknownCategory(f"The site has no categories {', '.join(unknown)}.")
    fetched = None
    if states_cached(site):
        names = {cache.state_name(site.id, cid): cid for cid in consent_ids}
        fetched = cache.fetch(list(names))
        found = {cid: fetched.get(name) for name, cid in names.items()}
    else:
        found = dict.fromkeys(consent_ids, cache.MISSING)
    missing = [cid for cid, value in found.items() if value is cache.MISSING]
    if missing:
        loaded = {
            state.consent_id: _cached_state(state)
            for state in ConsentState.objects.using(site_database(site)).filter(site_id=site.id, consent_id__in=missing)
        }
        for cid in missing:
            found[cid] = loaded.get(cid, NO_DECISION)
        if fetched is not None:
            fetched.store({cache.state_name(site.id, cid): found[cid] for cid in missing})
    now = timezone.now()
    results, answered = {}, Counter()
    for cid in consent_ids:
        cached = found[cid]
        current = None if cached == NO_DECISION else _to_current(site, cid, cached, now)
        answers = {key: _allowed(current, key) for key in keys}
        results[str(cid)] = {key: allowed for key, (allowed, _) in answers.items()}
        answered.update(answers.values())
    metrics.count_checks(site.key, answered)
    return results
