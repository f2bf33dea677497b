"""The visitor's right to erasure. Access and portability (history, export) are reads:
consent.selectors.visitors."""

from django.db import transaction

from consent import cache
from consent.models import ConsentRecord, ConsentState, ErasedRecord, ErasureMarker
from consent.residency import site_database, states_cached
from consent.services.errors import UnknownVisitor
from consent.services.proof import consent_digest
from consent.services.rollup import note_erasure
from consent.services.sites import SiteSnapshot
from consent.services.visitors import authorise
from consent.services.webhooks import enqueue_erasure, forget_deliveries


def erase_visitor(
    site: SiteSnapshot,
    consent_id,
    *,
    reason: str = "erasure",
    visitor_token: str | None = None,
    from_browser: bool = False,
) -> int:
    """Delete the visitor's records and state at once (GDPR Art. 17), leaving a marker that
    keeps the proof verifiable, and tell the site's webhooks. Returns how many records were
    deleted; raises UnknownVisitor, and VisitorTokenRefused for a browser without the visitor's
    token."""
    database = site_database(site)
    with transaction.atomic(using=database):
        state = (
            ConsentState.objects.using(database)
            .select_for_update()
            .filter(site_id=site.id, consent_id=consent_id)
            .first()
        )
        if state is None:
            raise UnknownVisitor(f"No decisions are recorded for consent id {consent_id}.")
        if from_browser:
            authorise(state, visitor_token)
        deleted = erase_states(site.id, [state], reason=reason)
        if reason == "erasure":
            enqueue_erasure(site, consent_id)
    return deleted


def erase_states(site_id: int, states: list[ConsentState], *, reason: str) -> int:
    """Delete these visitors' records and states, each leaving an erasure marker and, per
    record, its id and links (no content), so that the chains and the checkpoints sealed over
    them still verify. Call inside a transaction on the site's database holding the states' locks."""
    if not states:
        return 0
    database = site_database(site_id)
    by_visitor: dict = {state.consent_id: [] for state in states}
    records = (
        ConsentRecord.objects.using(database).filter(site_id=site_id, consent_id__in=list(by_visitor)).order_by("id")
    )
    for row in records.values_list("id", "consent_id", "prev_hash", "hash"):
        by_visitor[row[1]].append(row)
    markers = ErasureMarker.objects.using(database).bulk_create(
        ErasureMarker(
            site_id=site_id,
            consent_digest=consent_digest(state.consent_id),
            reason=reason,
            record_count=len(by_visitor[state.consent_id]),
            head_hash=state.head_hash,
        )
        for state in states
    )
    ErasedRecord.objects.using(database).bulk_create(
        ErasedRecord(marker=marker, site_id=site_id, record_id=pk, prev_hash=prev_hash, hash=hash_hex)
        for marker, state in zip(markers, states, strict=True)
        for pk, _, prev_hash, hash_hex in by_visitor[state.consent_id]
    )
    note_erasure(records)
    deleted, _ = records.delete()
    ConsentState.objects.using(database).filter(pk__in=[state.pk for state in states]).delete()
    forget_deliveries(site_id, by_visitor)
    if states_cached(site_id):
        cache.visitors_changed(site_id, by_visitor)
    return deleted
