import time

from django.core.management.base import BaseCommand

from consent.services.webhooks import deliver_due, notify_expired


class Command(BaseCommand):
    help = (
        "Send due webhook deliveries from the outbox of every database (the default one and each data "
        "region's), at least once, with exponential backoff, and queue expiry events. Runs until stopped; "
        "--once does one pass (for cron or tests)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between passes (default 5)")
        parser.add_argument("--limit", type=int, default=100, help="Deliveries per database per pass (default 100)")

    def handle(self, *args, once, interval, limit, **options):
        while True:
            expired = notify_expired()
            report = deliver_due(limit=limit)
            if once or expired or report.delivered or report.retrying or report.failed:
                self.stdout.write(
                    f"{expired} expiry events queued; {report.delivered} delivered, "
                    f"{report.retrying} to retry, {report.failed} given up"
                )
            if once:
                return
            if report.delivered + report.retrying + report.failed < limit:
                time.sleep(interval)
