"""The coherent cache: the one place where anything mutable is kept between requests.

A cache here is an accelerator that can never make an answer older than the database. Once a
change has committed, every later answer of every process reflects it.

What is cached (names below the prefix `<KEY_PREFIX>:coherent:<FORMAT>:`), each for `TTL_SECONDS`
(1 h):

    site:<site_key>                 SiteSnapshot        Site, SiteOrigin, Category, PolicyVersion,
                                    (with the webhook   WebhookEndpoint saved or deleted
                                    endpoints)          (receivers connected in ConsentConfig.ready)
    config:<site_key>               the banner config   the same
    apikey:<key_hash>               KeyOwner or False   ApiKey saved or deleted (revocation; ConsentConfig.ready)
    state:<site_id>:<consent_id>    the visitor's state record_decision, erase_visitor, purge
                                    or NO_DECISION

FORMAT changes whenever the shape of a cached value does, so that a new release never reads what an
older one stored. Beside them, `touch:<key_hash>` (5 min, a plain flag) only limits how often an API key's
`last_used_at` is written; it decides no answer.

How it stays true, in every deployment:

1. Only a shared cache holds these entries (Redis, `REDIS_URL`). Django's local-memory cache is
   each process's own, and no other process (another worker, a management command) could clear
   it, so without Redis nothing is cached: every request reads the database.
2. Invalidation deletes the entries, after the commit (`transaction.on_commit`), never inside it.
3. Leases close the race between a reader and a writer. A read that misses leaves a lease in the
   entry's place, in the same round trip; the reader then loads from the database and stores its
   value only if its lease is still there. A commit's delete removes the lease, so a reader that
   loaded before a commit cannot store the old value after it.
4. An epoch covers a delete that could not reach Redis (an outage, a cut connection, a timeout).
   Every entry is stored with the epoch it was loaded under, and the epoch's truth is a row in the
   database (`CacheEpoch`). The writer whose delete failed moves that row on and waits
   `EPOCH_SECONDS` before it answers; every process re-reads the epoch at least every
   `EPOCH_SECONDS` (and at once after any Redis error), and takes an entry of an older epoch for a
   miss. So once a change is answered, no process can serve what it missed.
5. Redis down or slow: reads answer from the database (fail-closed stays fail-closed), and after an
   error Redis is left alone for `PAUSE_SECONDS`. The outage is logged once when it starts and once
   when it ends, per process, never per call.

Every name `fetch` reads counts once in cmp_cache_requests_total (consent.metrics): a hit, a miss
(also each read when no Redis is configured), or unavailable (Redis down or paused).

What it costs: a cached read is one Redis round trip (a Lua script); a miss adds one to store the
value; a change adds one delete; the epoch is one indexed read per process every `EPOCH_SECONDS`.
While Redis is unreachable, each change waits `EPOCH_SECONDS` (0.25 s by default) before it answers.
"""

import contextlib
import logging
import pickle
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import F

from consent import metrics

logger = logging.getLogger("consent.cache")

TTL_SECONDS = 3600
# The shape of the cached values: a new release that changes one moves this on.
FORMAT = 5
# A lease outlives any database read that a reader makes between taking it and storing its value;
# if the reader dies, others read the database until it expires.
LEASE_MILLISECONDS = 10_000
# After a Redis error the database answers alone for this long, so that a Redis that hangs does
# not cost every request a socket timeout.
PAUSE_SECONDS = 1.0
TOUCH_SECONDS = 300
# A writer's mark outlives its transaction's commit by far; see _mark.
WRITER_MARK = b"L|writer"
WRITER_MARK_MILLISECONDS = 60_000


def epoch_seconds() -> float:
    return settings.CMP_CACHE_EPOCH_SECONDS


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()

# Both run inside Redis, so each is one round trip and sees no other client between its steps.
# READ: for each entry, its value; or, where it is missing or of an older epoch, our lease, set in
# its place. Then, for each flag, whether it was set now (it was absent).
_READ = """
local flags = tonumber(ARGV[4])
local entries = #KEYS - flags
local epoch = tonumber(ARGV[3])
local out = {}
for i = 1, entries do
  local value = redis.call('GET', KEYS[i])
  local stored_epoch = value and tonumber(string.match(value, '^(%d+)|'))
  if value and (stored_epoch == nil or stored_epoch >= epoch) then
    out[i] = value
  else
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
    out[i] = ARGV[1]
  end
end
for i = entries + 1, #KEYS do
  out[i] = redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[5]) and '1' or ''
end
return out
"""
# STORE: each value only where our lease still stands.
_STORE = """
local stored = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('SET', KEYS[i], ARGV[i + 2], 'EX', ARGV[2])
    stored = stored + 1
  end
end
return stored
"""


class _Process:
    """What this process knows: the epoch and when it was read, Redis's health, the client."""

    def __init__(self):
        self.lock = threading.Lock()
        self.epoch = 0
        self.epoch_read_at = float("-inf")
        self.paused_until = float("-inf")
        self.outage = False
        self.client = None
        self.prefix = ""
        self.configured = None  # the CACHES setting the client was made for


_process = _Process()
_thread = threading.local()


def reset(**kwargs) -> None:
    """Forget the client and the epoch (settings changed, e.g. in tests)."""
    global _process
    _process = _Process()


def _redis():
    """The Redis client, or None when no shared cache is configured."""
    caches = settings.CACHES
    if _process.configured is not caches:
        with _process.lock:
            config = caches["default"]
            client = None
            if config["BACKEND"].startswith("django_redis."):
                from django_redis import get_redis_connection

                client = get_redis_connection("default")
            _process.prefix = f"{config.get('KEY_PREFIX', '')}:coherent:{FORMAT}:"
            _process.client = client
            _process.configured = caches
    if _process.client is None or time.monotonic() < _process.paused_until:
        return None
    return _process.client


def is_shared() -> bool:
    """Whether entries are kept at all (a shared cache is configured)."""
    _redis()
    return _process.client is not None


class Unavailable(Exception):
    """Redis is not configured, paused after an error, or failed now."""


_scripts: dict[str, object] = {}


def run_script(source: str, keys: Sequence[str], args: Sequence) -> object:
    """Run a Lua script on names below this module's prefix, in one round trip: the cache's own
    reads and stores, and other modules' (the throttle's counts). The one place that handles a
    Redis failure for them (a pause, one log line per outage). Raises Unavailable."""
    client = _redis()
    if client is None:
        raise Unavailable
    script = _scripts.get(source)
    if script is None or script.registered_client is not client:
        script = _scripts[source] = client.register_script(source)
    try:
        result = script(keys=[_process.prefix + key for key in keys], args=list(args))
    except Exception as error:  # noqa: BLE001 (any failure of the accelerator leaves the answer to the database)
        _failed(error)
        raise Unavailable from error
    _succeeded()
    return result


def _failed(error: Exception) -> None:
    _process.paused_until = time.monotonic() + PAUSE_SECONDS
    _process.epoch_read_at = float("-inf")  # another process may have moved it meanwhile
    # The pool's other connections died with this one: dropped now, so that after the pause every
    # call opens a fresh one, instead of failing once more on a dead socket and logging a second outage.
    with contextlib.suppress(Exception):
        _process.client.connection_pool.disconnect()
    if not _process.outage:
        _process.outage = True
        logger.warning("Redis is unreachable (%s): answering from the database until it is back.", error)


def _succeeded() -> None:
    if _process.outage:
        _process.outage = False
        logger.warning("Redis is back: the cache is in use again.")


def _current_epoch() -> int:
    if time.monotonic() - _process.epoch_read_at >= epoch_seconds():
        from consent.models import CacheEpoch

        started = time.monotonic()
        value = CacheEpoch.objects.filter(pk=1).values_list("value", flat=True).first() or 0
        _process.epoch, _process.epoch_read_at = value, started
    return _process.epoch


def _lease_token() -> bytes:
    """This request's lease (a new one per request, see open_request)."""
    token = getattr(_thread, "lease", None)
    if token is None:
        token = _thread.lease = b"L|" + secrets.token_hex(8).encode()
    return token


class Fetched:
    """What one read found: values by name, and the leases it holds for the names it missed."""

    def __init__(self, values: dict, leased: set, epoch: int, due: set):
        self.values = values
        self.leased = leased
        self.epoch = epoch
        self.due = due

    def get(self, name: str):
        return self.values.get(name, MISSING)

    def store(self, loaded: dict) -> None:
        """Keep what was loaded from the database, where this read's lease still stands."""
        names = [name for name in loaded if name in self.leased]
        if not names:
            return
        epoch = str(self.epoch).encode()
        values = [epoch + b"|" + pickle.dumps(loaded[name], pickle.HIGHEST_PROTOCOL) for name in names]
        with contextlib.suppress(Unavailable):  # the next reader loads from the database again
            run_script(_STORE, names, [_lease_token(), TTL_SECONDS, *values])


def fetch(names: Sequence[str], *, flags: Sequence[str] = ()) -> Fetched:
    """Read entries in one round trip. `flags` are set for TOUCH_SECONDS where absent; the
    result's `due` holds those that were absent (what they guard is due again)."""
    client = _redis()
    if client is None:
        # No shared cache: every read goes to the database. Redis paused: likewise, and a touch
        # waits for Redis to be back.
        shared = is_shared()
        metrics.count_cache("unavailable" if shared else "miss", len(names))
        due = {flag for flag in flags if _local_touch_due(flag)} if not shared else set()
        return Fetched({}, set(), 0, due)
    epoch = _current_epoch()
    token = _lease_token()
    try:
        raw = run_script(_READ, [*names, *flags], [token, LEASE_MILLISECONDS, epoch, len(flags), TOUCH_SECONDS])
    except Unavailable:
        metrics.count_cache("unavailable", len(names))
        return Fetched({}, set(), epoch, set())
    values, leased = {}, set()
    for name, value in zip(names, raw, strict=False):
        if value == token:
            leased.add(name)
        elif not value.startswith(b"L|"):
            values[name] = pickle.loads(value.partition(b"|")[2])  # noqa: S301 (our own Redis, our own values)
    metrics.count_cache("hit", len(values))
    metrics.count_cache("miss", len(names) - len(values))
    due = {flag for flag, value in zip(flags, raw[len(names) :], strict=True) if value}
    return Fetched(values, leased, epoch, due)


def get_or_load(name: str, load: Callable[[], object]):
    """The entry, else what `load()` reads from the database (kept for the next reader)."""
    found = fetch([name])
    value = found.get(name)
    if value is MISSING:
        value = load()
        found.store({name: value})
    return value


def invalidate(names: Iterable[str]) -> None:
    """Make these entries unreadable now and delete them once the current transaction commits
    (at once outside one)."""
    names = list(names)
    if transaction.get_connection().in_atomic_block and is_shared():
        _mark(names)
    pending = getattr(_thread, "pending", None)
    if pending is None:
        pending = _thread.pending = set()
    pending.update(names)
    transaction.on_commit(_delete_pending)


def _mark(names: list[str]) -> None:
    """Before the commit, put a writer's mark in the entries' place: readers then load from the
    database and store nothing until the delete after the commit. If this process dies between
    its commit and that delete, the mark expires and readers load what was committed."""
    client = _redis()
    if client is not None:
        try:
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.set(_process.prefix + name, WRITER_MARK, px=WRITER_MARK_MILLISECONDS)
            pipe.execute()
        except Exception as error:  # noqa: BLE001
            _failed(error)
        else:
            _succeeded()
            return
    # The mark could not be written: move the epoch on in this very transaction, so that it
    # commits with the change, and wait after the commit.
    _move_epoch_on()
    _thread.wait_after_commit = True


def _delete_pending() -> None:
    names, _thread.pending = getattr(_thread, "pending", set()), set()
    must_wait, _thread.wait_after_commit = getattr(_thread, "wait_after_commit", False), False
    if names and is_shared():
        client = _redis()
        deleted = False
        if client is not None:
            try:
                client.delete(*[_process.prefix + name for name in names])
            except Exception as error:  # noqa: BLE001
                _failed(error)
            else:
                _succeeded()
                deleted = True
        if not deleted and not must_wait:
            # Outside a transaction there was no mark: the entries may still hold the old values.
            _move_epoch_on()
            must_wait = True
    if must_wait:
        # Every process re-reads the epoch this often: once this returns, none serves an entry
        # older than the change.
        time.sleep(epoch_seconds() + 0.05)


def forget_all() -> None:
    """Every entry stored so far becomes a miss in every process, within CMP_CACHE_EPOCH_SECONDS
    (`manage.py forgetcache`): after an upgrade that changed FORMAT, once no process of the old
    release is left, since each release clears only the entries of its own format."""
    _move_epoch_on()


def _move_epoch_on() -> None:
    """What Redis holds may now be older than the database: make every process ignore it."""
    from consent.models import CacheEpoch

    if not CacheEpoch.objects.filter(pk=1).update(value=F("value") + 1):
        CacheEpoch.objects.get_or_create(pk=1, defaults={"value": 1})
    _process.epoch_read_at = float("-inf")


def touch_due(name: str) -> bool:
    """Whether the thing this flag guards is due (absent for TOUCH_SECONDS)."""
    return name in fetch((), flags=[name]).due


_local_touches: dict[str, float] = {}


def _local_touch_due(name: str) -> bool:
    # Without a shared cache each process limits its own writes: a few more, never fewer.
    now = time.monotonic()
    if _local_touches.get(name, float("-inf")) > now:
        return False
    if len(_local_touches) > 10_000:
        _local_touches.clear()
    _local_touches[name] = now + TOUCH_SECONDS
    return True


# Names. Every entry above is named here and nowhere else.


def site_name(site_key: str) -> str:
    return f"site:{site_key}"


def config_name(site_key: str) -> str:
    return f"config:{site_key}"


def api_key_name(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def touch_name(key_hash: str) -> str:
    return f"touch:{key_hash}"


def state_name(site_id: int, consent_id) -> str:
    return f"state:{site_id}:{consent_id}"


# Invalidation: what each change clears, on commit.


def site_changed(site_key: str) -> None:
    invalidate([site_name(site_key), config_name(site_key)])
    memo = getattr(_thread, "snapshots", None)
    if memo:
        memo.pop(site_key, None)


def visitors_changed(site_id: int, consent_ids: Iterable) -> None:
    invalidate([state_name(site_id, consent_id) for consent_id in consent_ids])


def api_key_changed(key_hash: str) -> None:
    invalidate([api_key_name(key_hash)])


# Receivers, connected in ConsentConfig.ready(): the admin and the shell save models directly.


def on_site_saved(sender, instance, **kwargs) -> None:
    site_changed(instance.key)


def on_site_part_saved(sender, instance, **kwargs) -> None:
    from consent.models import Site

    try:
        site_key = instance.site.key
    except Site.DoesNotExist:
        return  # deleted together with its site, whose own signal cleared the cache
    site_changed(site_key)


def on_api_key_saved(sender, instance, **kwargs) -> None:
    api_key_changed(instance.key_hash)


# Within one request a site's snapshot is read once: CORS, the Origin permission and the view all
# ask for it. Opened and closed by the request signals; outside requests there is no memo.


def open_request(**kwargs) -> None:
    _thread.lease = None
    _thread.snapshots = {}


def close_request(**kwargs) -> None:
    _thread.snapshots = None


def request_memo() -> dict | None:
    return getattr(_thread, "snapshots", None)
