"""The decision log partitioned by month on PostgreSQL (migration 0013, consent.services.partitions):
decisions land in their month's partition, months are made ahead, a stray record moves out of the
default partition, empty old months are dropped and full ones kept, and an existing log converts
without copying a row."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from consent.models import ConsentRecord
from consent.services.partitions import TABLE, drop_empty, ensure_partitions, month_start, partitions
from consent.services.proof import verify_site
from consent.services.records import chained_history
from tests.deployment import ROOT, suite_uses_postgresql
from tests.factories import decide, make_site

pytestmark = pytest.mark.skipif(not suite_uses_postgresql(), reason="partitions: PostgreSQL only")


def partition_of(record_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {TABLE} WHERE id = %s", [record_id])  # noqa: S608
        return cursor.fetchone()[0]


def backdated(site, when: datetime) -> ConsentRecord:
    """One visitor's decision at `when`, chained as record_decision would write it."""
    fields = {
        "categories": {"authentication": True, "analytics": False},
        "action": "reject_all",
        "source": "banner",
        "policy_version": 1,
        "created_at": when,
    }
    records, state = chained_history(site.id, site.key, uuid.uuid4(), [fields])
    ConsentRecord.objects.bulk_create(records)
    state.save()
    return records[0]


def test_a_decision_lands_in_the_partition_of_its_time(db):
    site = make_site()
    now = datetime.now(UTC)
    record = decide(site, "accept_all")
    names = {p.name: p for p in partitions()}
    home = partition_of(record.id)
    assert home in names and names[home].rows >= 1
    assert names[home].end is not None and now < names[home].end
    # Three months ahead are ready, and a default catches anything later.
    later = month_start(now.year, now.month + 3)
    assert any(p.start and p.start <= later < p.end for p in names.values())
    assert f"{TABLE}_default" in names


def test_months_are_made_ahead_once_and_a_stray_record_moves_out_of_the_default(db):
    site = make_site()
    far = datetime.now(UTC).replace(day=15) + timedelta(days=31 * 8)
    stray = backdated(site, far)
    assert partition_of(stray.id) == f"{TABLE}_default"
    made = ensure_partitions(ahead=9)
    assert f"{TABLE}_p{far:%Y%m}" in made
    assert partition_of(stray.id) == f"{TABLE}_p{far:%Y%m}"
    assert ensure_partitions(ahead=9) == []  # idempotent
    assert verify_site(site).intact


def test_only_empty_old_months_are_dropped(db):
    site = make_site()
    now = datetime.now(UTC)
    # A year from now: the months made then are old two years from now.
    then = now + timedelta(days=366)
    ensure_partitions(ahead=2, now=then)
    months = [month_start(then.year, then.month + offset) for offset in range(3)]
    kept = backdated(site, months[1] + timedelta(days=2))
    assert drop_empty(before=now.date()) == []  # nothing is old yet
    later = now + timedelta(days=2 * 366)
    dropped = drop_empty(before=later.date(), now=later)
    assert f"{TABLE}_p{months[0]:%Y%m}" in dropped and f"{TABLE}_p{months[2]:%Y%m}" in dropped
    assert partition_of(kept.id) == f"{TABLE}_p{months[1]:%Y%m}"  # a month with records stays
    assert not any(name.endswith(("_default", "_legacy")) for name in dropped)
    assert ConsentRecord.objects.filter(pk=kept.pk).exists() and verify_site(site).intact


def test_the_command_lists_and_keeps_the_months(db, capsys):
    call_command("partitions", "--ahead", "4", "--list")
    out = capsys.readouterr().out
    assert "default" in out and "records" in out


def test_an_existing_log_becomes_the_first_partition_without_losing_a_row(db):
    """Migration 0013 on a database whose log already holds records: they stay, the ids go on."""
    settings_db = connection.settings_dict
    server = f"postgres://{settings_db['USER']}@{settings_db['HOST'] or '127.0.0.1'}:{settings_db['PORT'] or 5432}"
    name = f"cmp_partition_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": f"{server}/{name}", "REDIS_URL": ""}

    def manage(*args):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr

    try:
        manage("migrate", "consent", "0012", "--noinput", "-v0")
        with psycopg.connect(f"{server}/{name}", autocommit=True) as db:
            db.execute("INSERT INTO consent_site (key, name, default_language, languages, consent_lifetime_days, "
                       "retention_days, banner_texts, primary_colour, position, settings_button, gpc_overridable, "
                       "ads_data_redaction, url_passthrough, google_developer_id, consent_mode_regions, "
                       "reload_on_withdrawal, controller_name, controller_contact, recipients, created_at, updated_at) "
                       "VALUES ('k', 'Old', 'en', 'en', 182, 1095, '{}', '#1d4ed8', 'bottom', 'left', false, true, "
                       "false, '', '[]', false, '', '', '', now(), now())")  # fmt: skip
            for day in (400, 40, 1):
                db.execute(
                    "INSERT INTO consent_consentrecord (site_id, consent_id, categories, action, source, "
                    "policy_version, language, url, user_agent, ip_address, country, created_at, prev_hash, hash) "
                    "SELECT id, gen_random_uuid(), '{}', 'reject_all', 'banner', 1, '', '', '', '', '', "
                    "now() - %s * interval '1 day', '', '' FROM consent_site",
                    [day],
                )
            (before,) = db.execute("SELECT max(id) FROM consent_consentrecord").fetchone()
        manage("migrate", "--noinput", "-v0")
        with psycopg.connect(f"{server}/{name}", autocommit=True) as db:
            assert db.execute("SELECT count(*) FROM consent_consentrecord").fetchone() == (3,)
            homes = db.execute("SELECT DISTINCT tableoid::regclass::text FROM consent_consentrecord").fetchall()
            assert homes == [("consent_consentrecord_legacy",)]
            (new_id,) = db.execute(
                "INSERT INTO consent_consentrecord (site_id, consent_id, categories, action, source, policy_version, "
                "language, url, user_agent, ip_address, country, created_at, prev_hash, hash) SELECT id, "
                "gen_random_uuid(), '{}', 'accept_all', 'banner', 1, '', '', '', '', '', now() + interval '40 days', "
                "'', '' FROM consent_site RETURNING id"
            ).fetchone()
            assert new_id == before + 1
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
