"""What the servers do, for Prometheus: the counters and the histogram the hot paths move.

Moving one is an increment in this process's memory (or, in multiprocess mode, in a file it
maps); nothing here reads the database. The gauges of what waits on the background jobs are read
from the database when `/metrics` is scraped (consent.metrics.exposition), never per request.

    cmp_decisions_total{site, action, regime}   decisions recorded (consent.services.records)
    cmp_checks_total{site, outcome, reason}     "may I?" answers, one per visitor and category
                                                (consent.services.checks): outcome allowed or
                                                refused, and its reason (granted, refused,
                                                no_decision, withdrawn, expired, outdated,
                                                not_asked, opted_out, not_opted_out, notice,
                                                strictly_necessary)
    cmp_request_seconds{endpoint}               time to answer, by URL name (consent.metrics.middleware)
    cmp_cache_requests_total{result}            entries read from the coherent cache (consent.cache):
                                                hit, miss (also every read when no Redis is
                                                configured), unavailable (Redis down or paused)

`site` is the site's public key, never a consent id; every other label has a fixed set of values.

Multiprocess mode: gunicorn's workers are processes of their own, and a scrape reaches one of them.
With `PROMETHEUS_MULTIPROC_DIR` set (before the process starts), every process writes its values
to files there and the scrape sums them (prometheus_client's multiprocess mode;
cmp_site/gunicorn.conf.py empties the directory when the server starts and tells prometheus_client
when a worker exits). Without it (runserver, the tests) the values live in this process's registry.
"""

import os
from collections import Counter as Tally

from prometheus_client import Counter, Histogram, disable_created_metrics

# Read once, as prometheus_client itself does when it is first imported.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# The `_created` series double what is stored, and multiprocess mode has none: the same either way.
disable_created_metrics()

# From 1 ms (a check answered from Redis) to 1 s (well past any answer we mean to give).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

decisions = Counter("cmp_decisions", "Decisions recorded.", ["site", "action", "regime"])
checks = Counter("cmp_checks", "Answers to 'may I?', one per visitor and category.", ["site", "outcome", "reason"])
request_seconds = Histogram(
    "cmp_request_seconds", "Time to answer a request, by URL name.", ["endpoint"], buckets=LATENCY_BUCKETS
)
cache_requests = Counter(
    "cmp_cache_requests", "Entries read from the coherent cache, by what the read found.", ["result"]
)
# Each labelled child, once made: prometheus_client's labels() takes a lock and costs several
# times the increment. As many as the labels' values, which are bounded.
_children: dict[tuple, object] = {}


def _child(metric, *labels: str):
    key = (metric, *labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def count_decision(site_key: str, action: str, regime: str) -> None:
    _child(decisions, site_key, action, regime).inc()


def count_check(site_key: str, answer: tuple[bool, str]) -> None:
    """One answer, as consent.services.checks gives it: (allowed, reason)."""
    allowed, reason = answer
    _child(checks, site_key, "allowed" if allowed else "refused", reason).inc()


def count_checks(site_key: str, answers: Tally) -> None:
    """Many answers at once (a batch check), tallied by (allowed, reason): one increment each."""
    for (allowed, reason), count in answers.items():
        _child(checks, site_key, "allowed" if allowed else "refused", reason).inc(count)


def count_cache(result: str, entries: int) -> None:
    if entries:
        _child(cache_requests, result).inc(entries)


def observe_request(endpoint: str, seconds: float) -> None:
    _child(request_seconds, endpoint).observe(seconds)
