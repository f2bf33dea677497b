"""On PostgreSQL, with real concurrent transactions: sealing the proof never blocks recording,
and a purge spares a visitor who decides again while it runs."""

import threading
import uuid

import pytest
from django.db import connection, transaction

from consent.models import ConsentRecord
from consent.services.proof import seal_site
from consent.services.retention import purge
from tests.factories import decide
from tests.test_services_lifecycle import backdate

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only"),
]


def in_thread(target) -> threading.Thread:
    def run():
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_sealer_holding_the_site_lock_does_not_block_decisions(site):
    decide(site, marketing=True)
    locked, release = threading.Event(), threading.Event()

    def sealer():
        with transaction.atomic():  # the seal's locks are held until this outer commit
            assert seal_site(site, settle_seconds=0).record_count == 1
            locked.set()
            release.wait(10)

    thread = in_thread(sealer)
    try:
        assert locked.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")  # a blocked decision fails instead of waiting
            record = decide(site, analytics=True)
        assert ConsentRecord.objects.filter(pk=record.pk).exists()
    finally:
        release.set()
        thread.join()


def test_a_visitor_deciding_while_the_purge_runs_is_kept(site):
    visitor = uuid.uuid4()
    backdate(site, [visitor], days=4 * 365)
    holding, done = threading.Event(), threading.Event()

    def visitor_decides():
        with transaction.atomic():
            decide(site, consent_id=visitor, analytics=True)  # locks the visitor's state row
            holding.set()
            done.wait(1)  # still uncommitted while the purge starts

    thread = in_thread(visitor_decides)
    try:
        assert holding.wait(10)
        report = purge(batch_size=500)
    finally:
        done.set()
        thread.join()
    assert report.visitors == 0
    assert ConsentRecord.objects.filter(consent_id=visitor).count() == 3
