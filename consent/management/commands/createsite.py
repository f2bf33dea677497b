from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from consent.models import validate_origin
from consent.services.sites import create_site
from consent.widget.views import embed_tag


class Command(BaseCommand):
    help = "Create a site with the four built-in categories. Prints the site key alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--origin", action="append", required=True, help="e.g. https://shop.example; repeatable")
        parser.add_argument("--language", action="append", help="Banner language, repeatable; the first is the default")
        parser.add_argument("--policy-url", default="", help="URL of the site's cookie policy")
        parser.add_argument(
            "--data-region",
            default="",
            choices=["", *settings.CMP_DATA_REGIONS],
            help="The region whose database keeps the site's visitors' data (DATABASE_URLS_BY_REGION); "
            "default: the default database. It cannot change later.",
        )

    def handle(self, *args, name, origin, language, policy_url, data_region, **options):
        for value in origin:
            try:
                validate_origin(value)
            except ValidationError as exc:
                raise CommandError(exc.messages[0]) from None
        try:
            site = create_site(
                name=name,
                origins=origin,
                languages=language or ["en"],
                policy_url=policy_url,
                data_region=data_region,
                by="manage.py createsite",
            )
        except ValidationError:
            raise CommandError(f"The policy URL must be an http(s) URL, not {policy_url!r}.") from None
        base = settings.CMP_PUBLIC_URL or "https://CMP_HOST"  # set CMP_PUBLIC_URL to see the real one
        self.stderr.write(f"Created site {site.name!r}; embed: {embed_tag(base, site.key)}")
        self.stdout.write(site.key)
