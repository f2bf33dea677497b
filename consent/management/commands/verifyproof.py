from django.core.management.base import BaseCommand, CommandError

from consent.models import Site
from consent.services.proof import verify_site


class Command(BaseCommand):
    help = (
        "Check a site's proof: every visitor's hash chain, every erasure marker, every checkpoint. "
        "Exit 0 when intact, 1 and the first broken link otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", required=True, help="The site key")

    def handle(self, *args, site, **options):
        found = Site.objects.filter(key=site).first()
        if found is None:
            raise CommandError(f"No site has the key {site!r}.")
        report = verify_site(found)
        summary = (
            f"{report.records} records of {report.visitors} visitors, {report.markers} erasure markers "
            f"({report.erased_records} erased records), {report.checkpoints} checkpoints, "
            f"{report.shown} shown configurations"
        )
        if not report.intact:
            self.stderr.write(f"BROKEN: {report.broken} ({summary} checked before it).")
            raise SystemExit(1)
        self.stdout.write(f"Intact: {summary}; {report.unsealed} records not sealed yet.")
