"""What a scrape of `/metrics` answers: the counters of every process (or of this one), and
gauges read from the database at that moment.

    cmp_webhook_queue_depth                  deliveries pending (consent.selectors.backlog)
    cmp_webhook_oldest_pending_seconds       age of the oldest of them (0 when none)
    cmp_rollup_lag_records                   records after the roll-up's mark
    cmp_rollup_lag_seconds                   age of the oldest of them (0 when none)
    cmp_seal_lag_records{site}               records after the site's last checkpoint
    cmp_seal_lag_seconds{site}               age of the oldest of them (0 when none)
    cmp_replica_lag_seconds{replica}         how far each read replica is behind (none without replicas)

Every server answers these gauges alike (they are the databases'): aggregate them with max(), not sum().
The webhook and roll-up gauges add up every database that holds visitors' data (the default one
and each data region's, consent.residency); a site's seal lag is read in its own.
"""

import contextlib
import logging

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from consent import metrics, replicas
from consent.selectors.backlog import Backlog, rollup_backlog, seal_backlog, webhook_backlog

logger = logging.getLogger("consent.metrics")


def render(accept: str | None) -> tuple[bytes, str]:
    """The scrape's body and its content type (Prometheus's text format, or OpenMetrics if asked)."""
    registry = CollectorRegistry()
    if metrics.MULTIPROCESS:
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(DatabaseGauges())
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def replica_lags() -> dict[str, float]:
    """Seconds each read replica is behind the primary, by alias (consent.replicas.lag). Empty when
    no replica is configured; a replica that does not answer, or has replayed nothing yet, is left out."""
    lags = {}
    for alias in settings.CMP_READ_REPLICAS:
        try:
            behind = replicas.lag(alias)
        except (DatabaseError, replicas.PrimaryDown, replicas.NotAStandby):
            with contextlib.suppress(DatabaseError):
                connections[alias].close()  # a fresh connection next time
            continue
        if behind is not None:
            lags[alias] = behind
    return lags


class DatabaseGauges:
    """The backlogs of the background jobs and the replicas' lag, read when collected."""

    def collect(self):
        try:
            webhooks, rollup, seals, replicas = webhook_backlog(), rollup_backlog(), seal_backlog(), replica_lags()
        except DatabaseError as error:
            # The counters still answer; the gauges are missing from this scrape, which says why.
            logger.warning("Metrics: the database did not answer (%s).", error)
            return
        now = timezone.now()
        yield gauge("cmp_webhook_queue_depth", "Webhook deliveries pending (retries included).", webhooks.count)
        yield gauge(
            "cmp_webhook_oldest_pending_seconds", "Age of the oldest pending webhook delivery.", age(webhooks, now)
        )
        yield gauge("cmp_rollup_lag_records", "Records the daily roll-ups do not count yet.", rollup.count)
        yield gauge(
            "cmp_rollup_lag_seconds", "Age of the oldest record the roll-ups do not count yet.", age(rollup, now)
        )
        records = GaugeMetricFamily(
            "cmp_seal_lag_records", "Records after the site's last checkpoint.", labels=["site"]
        )
        seconds = GaugeMetricFamily(
            "cmp_seal_lag_seconds", "Age of the oldest record after the site's last checkpoint.", labels=["site"]
        )
        for site_key, backlog in sorted(seals.items()):
            records.add_metric([site_key], backlog.count)
            seconds.add_metric([site_key], age(backlog, now))
        yield records
        yield seconds
        lag = GaugeMetricFamily(
            "cmp_replica_lag_seconds", "How far the read replica is behind the primary.", labels=["replica"]
        )
        for name, behind in sorted(replicas.items()):
            lag.add_metric([name], behind)
        yield lag


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def age(backlog: Backlog, now) -> float:
    return max(0.0, (now - backlog.oldest).total_seconds()) if backlog.oldest else 0.0
