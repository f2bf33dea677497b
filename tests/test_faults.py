"""Faults the API survives: Redis down, a PostgreSQL that dropped our connections."""

import logging

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        # Nothing listens here: every cache call fails as it would with Redis down.
        "LOCATION": "redis://127.0.0.1:6390/0",
        "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@override_settings(CACHES=DEAD_REDIS)
def test_with_redis_down_the_api_answers_from_the_database_and_logs_it_once(api, caplog):
    with caplog.at_level(logging.WARNING, logger="consent.cache"):
        visitor = api.decide(categories={"analytics": True})["consent_id"]
        checks = [api.get(f"/consents/{visitor}/categories/analytics") for _ in range(20)]
        batch = api.post("/consents/check", json={"consent_ids": [visitor]}, key=api.key)
        api.decide(consent_id=visitor, action="withdraw")
        after = api.get(f"/consents/{visitor}/categories/analytics")
    assert {check.status_code for check in checks} == {200}
    assert checks[-1].json() == {"allowed": True, "reason": "granted"}
    assert batch.json()["results"][visitor]["analytics"] is True
    assert after.json() == {"allowed": False, "reason": "withdrawn"}
    logged = [r.getMessage() for r in caplog.records if r.name == "consent.cache"]
    assert len(logged) == 1 and "Redis is unreachable" in logged[0] and "6390" in logged[0]
    assert all(r.exc_info is None for r in caplog.records)


@pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="PostgreSQL only")
def test_a_restarted_postgresql_is_reconnected(api):
    """Terminating every server-side connection is what a PostgreSQL restart does to us."""
    visitor = api.decide(action="accept_all")["consent_id"]
    assert api.get(f"/consents/{visitor}/categories/analytics").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1  # the live server's persistent connection
    cache.clear()  # so that the next answers must come from the database
    for _ in range(3):
        response = api.get(f"/consents/{visitor}")
        assert response.status_code == 200, response.text
    assert api.decide(consent_id=visitor, action="reject_all")["categories"]["analytics"] is False
