from django.core.management.base import BaseCommand, CommandError

from consent.models import Site
from consent.services.sites import create_api_key


class Command(BaseCommand):
    help = "Create an API key for a site. Prints the key, shown only this once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--site", required=True, help="The site key")
        parser.add_argument("--name", default="default")

    def handle(self, *args, site, name, **options):
        found = Site.objects.filter(key=site).first()
        if found is None:
            raise CommandError(f"No site has the key {site!r}.")
        api_key, token = create_api_key(site=found, name=name, by="manage.py createapikey")
        self.stderr.write(f"API key {api_key.name!r} ({api_key.prefix}…) for {found.name}; it is not shown again.")
        self.stdout.write(token)
