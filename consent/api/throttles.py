"""Throttles: the public endpoints are limited per client IP."""

import ipaddress
import threading

from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from consent import cache
from consent.api.client_info import client_ip

# Counts of this process, for when no Redis is configured or it is unreachable: the limit then
# holds per process. Room for many clients, so that new ones do not push out the counts of others.
_local_counts = LocMemCache("cmp-throttle", {"OPTIONS": {"MAX_ENTRIES": 100_000}})

# The window's counts as a Redis hash of slice -> count: drop the slices that left the window,
# refuse at the limit, else count this request. One round trip, atomic.
_COUNT = """
local slice, slices, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local counts = redis.call('HGETALL', KEYS[1])
local total, oldest = 0, slice
for i = 1, #counts, 2 do
  local counted = tonumber(counts[i])
  if counted <= slice - slices then
    redis.call('HDEL', KEYS[1], counts[i])
  else
    total = total + tonumber(counts[i + 1])
    if counted < oldest then oldest = counted end
  end
end
if total >= limit then return {0, oldest} end
redis.call('HINCRBY', KEYS[1], slice, 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, oldest}
"""


class PublicRateThrottle(SimpleRateThrottle):
    """A sliding window per IP, counted in BUCKETS slices of the window.

    DRF's own throttle keeps the time of every request in the window, so its cache entry, read
    and written on each request, grows with the rate; these counts stay a few dozen numbers
    whatever the rate. The window slides by a slice (a second for a per-minute rate). With Redis
    they are counted in one round trip; without it (or while it is unreachable) in this process.
    """

    scope = "public"
    BUCKETS = 60
    _lock = threading.Lock()

    def get_ident(self, request):
        """The client's address as the nearest trusted proxy saw it (CMP_TRUSTED_PROXY_COUNT), an
        IPv6 client by its /64: one subscriber holds a whole /64 and could rotate through it."""
        address = client_ip(request)
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address
        if ip.version == 6 and ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        if ip.version == 6:
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(ip)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        width = self.duration / self.BUCKETS
        self.now = self.timer()
        bucket = int(self.now // width)
        try:
            allowed, oldest = cache.run_script(
                _COUNT, [self.key], [bucket, self.BUCKETS, self.num_requests, int(self.duration) + 1]
            )
        except cache.Unavailable:
            allowed, oldest = self._count_locally(bucket)
        if not allowed:
            # Free again when the oldest counted slice leaves the window.
            self.free_at = (int(oldest) + self.BUCKETS) * width
        return bool(allowed)

    def _count_locally(self, bucket: int) -> tuple[int, int]:
        with self._lock:
            stored = _local_counts.get(self.key)
            counts = {b: n for b, n in stored.items() if b > bucket - self.BUCKETS} if isinstance(stored, dict) else {}
            oldest = min(counts, default=bucket)
            if sum(counts.values()) >= self.num_requests:
                return 0, oldest
            counts[bucket] = counts.get(bucket, 0) + 1
            _local_counts.set(self.key, counts, self.duration)
            return 1, oldest

    def window_counts(self, request) -> dict[int, int]:
        """The counts kept for this request's client: slice -> requests."""
        key = self.get_cache_key(request, None)
        try:
            counts = cache.run_script("return redis.call('HGETALL', KEYS[1])", [key], [])
        except cache.Unavailable:
            return dict(_local_counts.get(key) or {})
        return {int(counts[i]): int(counts[i + 1]) for i in range(0, len(counts), 2)}

    def wait(self):
        return max(self.free_at - self.now, 0)
