from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from consent.models import Site
from consent.services.sites import publish_policy


class Command(BaseCommand):
    help = "Publish a new policy version. A material one makes earlier decisions outdated."

    def add_arguments(self, parser):
        parser.add_argument("--site", required=True, help="The site key")
        parser.add_argument("--material", action="store_true", help="Visitors must decide again")
        parser.add_argument("--url", default="", help="URL of the new policy (default: the previous one's)")
        parser.add_argument("--summary", default="", help="What changed")

    def handle(self, *args, site, material, url, summary, **options):
        found = Site.objects.filter(key=site).first()
        if found is None:
            raise CommandError(f"No site has the key {site!r}.")
        try:
            version = publish_policy(
                site=found, material=material, url=url, summary=summary, by="manage.py publishpolicy"
            )
        except ValidationError:
            raise CommandError(f"The policy URL must be an http(s) URL, not {url!r}.") from None
        kind = "material" if material else "minor"
        self.stdout.write(f"Published {kind} version {version.version} of {found.name}'s policy.")
