from django.core.management.base import BaseCommand, CommandError

from consent.services.rollup import CHUNK_SIZE, rollup


class Command(BaseCommand):
    help = (
        "Add the decisions recorded since the last run to the dashboard's daily roll-ups. "
        "Idempotent and incremental: safe to run from cron every few minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--chunk-size", type=int, default=CHUNK_SIZE, help="Records counted per transaction (default %(default)s)"
        )

    def handle(self, *args, chunk_size, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        report = rollup(chunk_size=chunk_size)
        if len(report.databases) == 1:
            self.stdout.write(
                f"Counted {report.records} new records and {report.removals} erasures; "
                f"roll-ups now cover records up to id {report.last_record_id}."
            )
            return
        # Each database (data region) has record ids, and a mark, of its own.
        for done in report.databases:
            self.stdout.write(
                f"{done.database}: counted {done.records} new records and {done.removals} erasures; "
                f"roll-ups now cover its records up to id {done.last_record_id}."
            )
        self.stdout.write(f"Counted {report.records} new records and {report.removals} erasures in all.")
