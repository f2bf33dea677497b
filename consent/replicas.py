"""Read replicas: where the heavy reads go.

The dashboard and its CSV, a visitor's history and export, and the proof's verification are heavy
reads: they run on a streaming replica (`DATABASE_REPLICA_URLS`, aliases `replica_1`, ...) when one
answers and is at most `CMP_REPLICA_MAX_LAG_SECONDS` behind, and on the primary otherwise. Nothing
else does: the check, every write and every read inside a transaction stay on the primary
(`default`), so that no decision, withdrawal or erasure is ever answered from a replica that has not
replayed it yet. A function is a heavy read when it says so with `@heavy_read`, and its queries run
on the alias it is given as `using`. Replicas are the default database's: a site pinned to a data
region (consent.residency) has its heavy reads on its region's database.

Each process checks a replica at most every `CHECK_SECONDS`, one thread at a time: it is caught up
when it has replayed everything the primary had written when asked, and otherwise as far behind as
the time since the last transaction it replayed committed (an upper bound). A replica that does not
answer, falls too far behind or fails a read is left for the primary; each process logs that once,
and once more when the replica is back.
"""

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections

from consent.residency import site_database

logger = logging.getLogger("consent.replicas")

# How often each process asks a replica how far behind it is.
CHECK_SECONDS = 2.0

T = TypeVar("T")


class ReplicaBehind(Exception):
    """A heavy read found its replica short of what the primary holds (a visitor's latest decision,
    say): `heavy_read` runs it again on the primary."""


@dataclass
class Health:
    usable: bool | None = None  # None until first checked
    checked_at: float = float("-inf")


_health: dict[str, Health] = {}
_checking = threading.Lock()


def heavy_read_alias() -> str:
    """The first replica fit to answer a heavy read now, or the primary. Never raises."""
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS  # what this transaction wrote is on the primary alone
    for alias in settings.CMP_READ_REPLICAS:
        if _usable(alias):
            return alias
    return DEFAULT_DB_ALIAS


def heavy_read(read: Callable[..., T]) -> Callable[..., T]:
    """Run `read(..., using=alias)` on `heavy_read_alias()`; if the replica fails it or finds itself
    behind (ReplicaBehind), run it again on the primary. A caller that passes `using` chooses.
    `read` must have read everything by the time it returns (no lazy querysets)."""

    @functools.wraps(read)
    def routed(*args, **kwargs):
        if "using" in kwargs:
            return read(*args, **kwargs)
        site = kwargs.get("site", args[0] if args else None)
        if site is not None and (home := site_database(site)) != DEFAULT_DB_ALIAS:
            return read(*args, using=home, **kwargs)
        alias = heavy_read_alias()
        if alias != DEFAULT_DB_ALIAS:
            try:
                return read(*args, using=alias, **kwargs)
            except (ReplicaBehind, OperationalError, InterfaceError) as error:
                if not isinstance(error, ReplicaBehind):
                    _failed(alias, error)
        return read(*args, using=DEFAULT_DB_ALIAS, **kwargs)

    return routed


def _usable(alias: str) -> bool:
    health = _health.setdefault(alias, Health())
    if time.monotonic() - health.checked_at >= CHECK_SECONDS and _checking.acquire(blocking=False):
        try:
            _check(alias, health)
        finally:
            _checking.release()
    return bool(health.usable)


class NotAStandby(Exception):
    """The replica answers, but is no standby any more (promoted?)."""


class PrimaryDown(Exception):
    """The primary did not say how far it has written."""


def lag(alias: str) -> float | None:
    """Seconds the replica is behind the primary: 0 once it has replayed everything the primary had
    written when asked, else the time since the last transaction it replayed committed (an upper
    bound), None when it has replayed none since it started. Raises PrimaryDown, NotAStandby, or
    DatabaseError when the replica does not answer."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            written = cursor.fetchone()[0]
    except DatabaseError as error:
        raise PrimaryDown from error
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn,"
            " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float",
            [written],
        )
        standby, caught_up, behind = cursor.fetchone()
    if not standby:
        raise NotAStandby
    return 0.0 if caught_up else behind


def _check(alias: str, health: Health) -> None:
    health.checked_at = time.monotonic()
    try:
        behind = lag(alias)
    except PrimaryDown:
        return  # the primary's own outage says nothing about the replica
    except NotAStandby:
        _note(alias, health, "is not a standby (promoted?)")
        return
    except DatabaseError as error:
        _close(alias)
        _note(alias, health, f"is down ({_first_line(error)})")
        return
    if behind is not None and behind <= settings.CMP_REPLICA_MAX_LAG_SECONDS:
        _note(alias, health, None)
    elif behind is None:
        _note(alias, health, "is behind and has replayed nothing since it started")
    else:
        _note(alias, health, f"is {behind:.1f} s behind")


def _note(alias: str, health: Health, problem: str | None) -> None:
    if problem is None and health.usable is False:
        logger.warning("%s is back: heavy reads go to it again.", alias)
    elif problem is not None and health.usable is not False:
        logger.warning("%s %s: heavy reads go to the primary.", alias, problem)
    health.usable = problem is None


def _failed(alias: str, error: Exception) -> None:
    """A read failed on the replica (it went down, or the replay cancelled the query): the read
    runs again on the primary, and the replica is checked again before its next one."""
    health = _health.setdefault(alias, Health())
    _close(alias)
    if health.usable is not False:
        logger.warning("%s failed a read (%s): heavy reads go to the primary.", alias, _first_line(error))
    health.usable = False
    health.checked_at = float("-inf")


def _close(alias: str) -> None:
    with contextlib.suppress(DatabaseError):
        connections[alias].close()


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
