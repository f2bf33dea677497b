from datetime import date

from django.core.management.base import BaseCommand, CommandError

from consent.residency import databases
from consent.services.partitions import drop_empty, ensure_partitions, is_partitioned, partitions


class Command(BaseCommand):
    help = (
        "The decision log's monthly partitions on PostgreSQL: make this month's and the next ones ahead "
        "of time, and drop old ones the purge emptied. Idempotent, safe from cron (monthly or daily). "
        "Nothing to do on SQLite. Works on every database that holds a decision log (the data regions')."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=3, help="Months made ahead of this one (default 3)")
        parser.add_argument(
            "--drop-empty-before",
            metavar="YYYY-MM-DD",
            type=date.fromisoformat,
            help="Also drop the empty partitions of months that ended by then",
        )
        parser.add_argument("--list", action="store_true", help="List the partitions with their rows and size")

    def handle(self, *args, ahead, drop_empty_before, list, **options):
        if ahead < 0:
            raise CommandError("--ahead must be 0 or more.")
        aliases = databases()
        for using in aliases:
            # Each database's lines name it once there are several.
            where = f"{using}: " if len(aliases) > 1 else ""
            if not is_partitioned(using):
                self.stdout.write(f"{where}The decision log is not partitioned here (SQLite): nothing to do.")
                continue
            self.maintain(using, where, ahead, drop_empty_before, list)

    def maintain(self, using, where, ahead, drop_empty_before, list):
        for name in ensure_partitions(ahead=ahead, using=using):
            self.stdout.write(f"{where}Made {name}.")
        if drop_empty_before:
            for name in drop_empty(before=drop_empty_before, using=using):
                self.stdout.write(f"{where}Dropped {name} (empty).")
        if list:
            for partition in partitions(using):
                span = (
                    "default"
                    if partition.end is None
                    else f"{partition.start:%Y-%m-%d} to {partition.end:%Y-%m-%d}"
                    if partition.start
                    else f"up to {partition.end:%Y-%m-%d}"
                )
                size = f"{partition.rows} records, {partition.bytes / 1e6:.1f} MB"
                self.stdout.write(f"{where}{partition.name}: {span}, {size}")
