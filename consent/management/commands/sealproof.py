from django.core.management.base import BaseCommand, CommandError

from consent.models import Site
from consent.services.proof import ProofBroken, seal_site


class Command(BaseCommand):
    help = (
        "Seal the decision records recorded since the last checkpoint (a Merkle root chained to the "
        "previous checkpoint and signed), for one site or all. Safe to run from cron, e.g. hourly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", help="The site key (default: every site)")

    def handle(self, *args, site, **options):
        sites = Site.objects.order_by("pk")
        if site:
            sites = sites.filter(key=site)
            if not sites.exists():
                raise CommandError(f"No site has the key {site!r}.")
        failed = False
        for found in sites:
            try:
                checkpoint = seal_site(found)
            except ProofBroken as exc:
                self.stderr.write(f"site {found.key}: {exc} Run verifyproof --site {found.key}.")
                failed = True
                continue
            if checkpoint is None:
                self.stdout.write(f"site {found.key}: nothing new to seal")
            else:
                self.stdout.write(
                    f"site {found.key}: checkpoint {checkpoint.sequence} seals {checkpoint.record_count} records "
                    f"up to record {checkpoint.last_record_id}, hash {checkpoint.hash}"
                )
        if failed:
            raise SystemExit(1)
