"""Throttles: the public endpoints are limited per client IP."""

from rest_framework.throttling import SimpleRateThrottle


class PublicRateThrottle(SimpleRateThrottle):
    """A sliding window per IP, counted in BUCKETS slices of the window.

    DRF's own throttle keeps the time of every request in the window, so its cache entry, read
    and written on each request, grows with the rate; these counts stay a few dozen numbers
    whatever the rate. The window slides by a slice (a second for a per-minute rate).
    """

    scope = "public"
    BUCKETS = 60

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        width = self.duration / self.BUCKETS
        self.now = self.timer()
        bucket = int(self.now // width)
        stored = self.cache.get(self.key)
        counts = {b: n for b, n in stored.items() if b > bucket - self.BUCKETS} if isinstance(stored, dict) else {}
        if sum(counts.values()) >= self.num_requests:
            # Free again when the oldest counted slice leaves the window.
            self.free_at = (min(counts) + self.BUCKETS) * width if counts else self.now + self.duration
            return False
        counts[bucket] = counts.get(bucket, 0) + 1
        self.cache.set(self.key, counts, self.duration)
        return True

    def wait(self):
        return max(self.free_at - self.now, 0)
