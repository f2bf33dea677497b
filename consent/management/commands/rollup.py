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
        self.stdout.write(
            f"Counted {report.records} new records and {report.removals} erasures; "
            f"roll-ups now cover records up to id {report.last_record_id}."
        )
