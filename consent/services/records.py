"""Recording a decision: one append-only record, the visitor's current state, the cache cleared."""

import ipaddress
import uuid
from collections.abc import Iterable, Mapping

from django.db import IntegrityError, transaction
from django.utils import timezone

from consent import cache, metrics
from consent.models import REGION_CODE, REQUIRED_CATEGORY, Action, ConsentRecord, ConsentState, Source
from consent.residency import site_database, states_cached
from consent.services.config import shown_in
from consent.services.errors import InvalidDecision
from consent.services.proof import GENESIS, record_hash
from consent.services.sites import SiteSnapshot
from consent.services.visitors import authorise, new_token, token_hash, validate_token
from consent.services.webhooks import enqueue_decision


def truncate_ip(address: str) -> str:
    """The network, not the host: IPv4 to /24, IPv6 to /48. Anything unparsable is dropped."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def decided_categories(site: SiteSnapshot, action: str, choices: Mapping[str, bool]) -> dict[str, bool]:
    """Every category of the site, on or off, as the action and choices say.

    Unknown keys are an error; a category the visitor did not switch on is off (no pre-ticked
    boxes); authentication is always on.
    """
    unknown = sorted(set(choices) - set(site.categories))
    if unknown:
        raise InvalidDecision(f"Unknown categories: {', '.join(unknown)}.", field="categories")
    if action == Action.ACCEPT_ALL:
        decided = dict.fromkeys(site.categories, True)
    elif action in (Action.REJECT_ALL, Action.WITHDRAW):
        decided = dict.fromkeys(site.categories, False)
    else:
        decided = {key: choices.get(key) is True for key in site.categories}
    decided[REQUIRED_CATEGORY] = True
    return decided


def record_decision(
    *,
    site: SiteSnapshot,
    action: str,
    choices: Mapping[str, bool] | None = None,
    consent_id: uuid.UUID | None = None,
    policy_version: int,
    source: str = Source.BANNER,
    language: str = "",
    url: str = "",
    user_agent: str = "",
    ip_address: str = "",
    country: str = "",
    region: str = "",
    gpc: bool = False,
    shown: str = "",
    visitor_token: str | None = None,
    from_browser: bool = False,
) -> ConsentRecord:
    """Record one decision as proof and make it the visitor's current state.

    Under Global Privacy Control (`gpc`: the browser sent it) marketing is refused, unless the site
    lets an explicit choice override it; the record keeps its own source and notes `gpc`.
    Only the visitor's own state row is locked, so decisions of different visitors never wait
    on each other.

    A browser (`from_browser`) changing an existing visitor's decision must hold their
    `visitor_token` (consent.services.visitors); VisitorTokenRefused otherwise. A new visitor's
    token is stored hashed; when none is given one is made, and returned once as
    `record.issued_token`.

    `shown` is the digest of the configuration the visitor saw (the widget's config names it per
    language): it must be one this site showed, in the decision's language.

    The record keeps the visitor's `region` (from the operator's CDN, consent.services.regimes) and
    the regime they decided under: the one of the configuration they were shown, else their region's.
    """
    validate_token(visitor_token)
    if action not in Action.values:
        raise InvalidDecision(f"Unknown action {action!r}: use one of {', '.join(Action.values)}.", field="action")
    if source not in Source.values:
        raise InvalidDecision(f"Unknown source {source!r}: use one of {', '.join(Source.values)}.", field="source")
    # Versions are numbered 1, 2, 3... by publish_policy, so the snapshot knows them all.
    if not 1 <= policy_version <= site.current_version:
        raise InvalidDecision(
            f"Policy version {policy_version} was never published (current: {site.current_version}).",
            field="policy_version",
        )
    region = region if REGION_CODE.match(region or "") else ""
    regime = site.regime_in(region)
    if shown:
        language, regime = _shown_in(site, shown, language, policy_version)
    categories = decided_categories(site, action, choices or {})
    # Global Privacy Control refuses marketing (a sale or share of data), unless the site lets a
    # visitor's own explicit choice outweigh it and this is one: made in the preferences (a page
    # script calling CMP.setConsent is no visitor's choice).
    explicit = action == Action.CUSTOM and source == Source.PREFERENCES and site.gpc_overridable
    if gpc and categories.get("marketing") and not explicit:
        categories["marketing"] = False
    record = ConsentRecord(
        site_id=site.id,
        consent_id=consent_id or uuid.uuid4(),
        categories=categories,
        action=action,
        source=source,
        policy_version=policy_version,
        language=language[:16],
        url=url[:2048],
        user_agent=user_agent[:512],
        ip_address=truncate_ip(ip_address) if ip_address else "",
        country=(country or region)[:2].upper(),
        created_at=timezone.now(),
        shown=shown,
        gpc=gpc,
        regime=regime,
        region=region,
    )
    database = site_database(site)
    for attempt in range(2):
        try:
            with transaction.atomic(using=database):
                _append(site, record, visitor_token, from_browser, database)
            break
        except IntegrityError:
            # Two first decisions of one visitor raced to create the state; the loser retries
            # and now finds (and locks) the winner's row.
            record.pk = None
            if attempt:
                raise
    # Counted once committed (inside a caller's transaction, when that one commits).
    transaction.on_commit(lambda: metrics.count_decision(site.key, record.action, record.regime), using=database)
    return record


def _shown_in(site: SiteSnapshot, shown: str, language: str, policy_version: int) -> tuple[str, str]:
    """The language and the regime of the shown configuration, whose language and policy version the
    decision's must match. (A visitor who crossed a border keeps the regime they were shown.)"""
    found = shown_in(site.id, site.key, shown)
    if found is None:
        raise InvalidDecision(f"This site never showed the configuration {shown[:12]}...", field="shown")
    in_language, under_version, regime = found
    if language and language[:16] != in_language:
        raise InvalidDecision(
            f"The configuration shown was in {in_language!r}, the decision says {language!r}.", field="language"
        )
    if policy_version != under_version:
        raise InvalidDecision(
            f"The configuration shown was of policy version {under_version}, the decision says {policy_version}.",
            field="policy_version",
        )
    return in_language, regime


def _append(
    site: SiteSnapshot, record: ConsentRecord, visitor_token: str | None, from_browser: bool, database: str
) -> None:
    state = (
        ConsentState.objects.using(database)
        .select_for_update()
        .filter(site_id=site.id, consent_id=record.consent_id)
        .first()
    )
    record.issued_token = None
    if state is not None and from_browser:
        authorise(state, visitor_token)
    if states_cached(site):
        cache.visitors_changed(site.id, [record.consent_id])
    before = (state.categories, state.action, state.policy_version, state.decided_at) if state else None
    record.prev_hash = state.head_hash if state else GENESIS
    record.hash = record_hash(record, site_key=site.key)
    record.save(using=database)
    if state is None:
        state = ConsentState(site_id=site.id, consent_id=record.consent_id, first_decided_at=record.created_at)
        if not visitor_token:
            visitor_token = record.issued_token = new_token()
        state.token_hash = token_hash(visitor_token)
    state.categories = record.categories
    state.action = record.action
    state.source = record.source
    state.policy_version = record.policy_version
    state.decided_at = record.created_at
    state.record_count += 1
    state.regime = record.regime
    state.head_hash = record.hash
    state.save(using=database)
    # The webhook outbox is written in the same transaction: a committed change is announced.
    enqueue_decision(site, before, record)


def chained_history(
    site_id: int, site_key: str, consent_id, decisions: Iterable[Mapping]
) -> tuple[list[ConsentRecord], ConsentState]:
    """One visitor's decisions (ConsentRecord fields, oldest first) as the records and the state
    record_decision would have written: chained and hashed, not saved. For bulk loads that cannot
    go one decision at a time (the benchmarks, tests that backdate decisions)."""
    records, prev = [], GENESIS
    for fields in decisions:
        record = ConsentRecord(site_id=site_id, consent_id=consent_id, prev_hash=prev, **fields)
        record.hash = prev = record_hash(record, site_key=site_key)
        records.append(record)
    last = records[-1]
    state = ConsentState(
        site_id=site_id,
        consent_id=consent_id,
        categories=last.categories,
        action=last.action,
        source=last.source,
        policy_version=last.policy_version,
        decided_at=last.created_at,
        first_decided_at=records[0].created_at,
        record_count=len(records),
        regime=last.regime,
        head_hash=prev,
    )
    return records, state
