from django.core.management.base import BaseCommand

from consent.services.retention import purge


class Command(BaseCommand):
    help = "Apply the retention rules: delete decision records past each site's retention period. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be deleted; delete nothing")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, dry_run, batch_size, **options):
        report = purge(dry_run=dry_run, batch_size=batch_size)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"{verb} {report.records} records of {report.visitors} visitors.")
        for site_key, visitors in report.per_site.items():
            if visitors:
                self.stdout.write(f"  site {site_key}: {visitors} visitors")
