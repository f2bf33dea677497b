from django.core.management.base import BaseCommand, CommandError

from consent.services.retention import purge


class Command(BaseCommand):
    help = (
        "Apply the retention rules: delete the records of visitors whose latest decision is older than "
        "their site's retention period (default 3 years), in short batches. Idempotent, safe from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be deleted; delete nothing")
        parser.add_argument("--batch-size", type=int, default=500, help="Records deleted per transaction")

    def handle(self, *args, dry_run, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        report = purge(dry_run=dry_run, batch_size=batch_size)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"{verb} {report.records} records of {report.visitors} visitors.")
        for site_key, done in report.per_site.items():
            if done.visitors:
                self.stdout.write(
                    f"  site {site_key}: {done.visitors} visitors, {done.records} records "
                    f"(latest decision before {done.cutoff:%Y-%m-%d})"
                )
        self.stdout.write(f"{verb} {report.deliveries} finished webhook deliveries older than 30 days.")
