import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from consent.models import Site, SiteOrigin
from consent.services.samples import add_sample_decisions
from consent.services.sites import create_api_key, create_site
from consent.services.staff import set_up_second_factor

DEMO_NAME = "Demo shop"


class Command(BaseCommand):
    help = "Create (or refresh) a demo site served by this server, an API key and an admin login, and print them."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1:8000", help="Where the demo server listens")

    def handle(self, *args, host, **options):
        base = f"http://{host}"
        origins = [base, f"http://localhost:{host.rsplit(':', 1)[-1]}"] if ":" in host else [base]
        site = Site.objects.filter(name=DEMO_NAME).first()
        if site is None:
            site = create_site(
                name=DEMO_NAME,
                origins=origins,
                languages=["en", "de", "fr", "es"],
                policy_url=f"{base}/demo/policy",
                by="manage.py demo",
            )
        for origin in origins:
            SiteOrigin.objects.get_or_create(site=site, origin=origin)
        samples = add_sample_decisions(site)
        _, token = create_api_key(site=site, name="demo", by="manage.py demo")
        password = secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        factor = set_up_second_factor(user)
        self.stdout.write(
            "\n".join(
                [
                    "Demo ready.",
                    f"  Sample shop with the banner: {base}/demo/",
                    f"  Admin:                       {base}/admin/  (user admin, password {password})",
                    f"  Admin's OTP token:           any of {', '.join(factor.recovery_codes[:3])} (once each),",
                    f"                               or an authenticator app with {factor.otpauth_url}",
                    f"  Dashboard:                   {base}/admin/consent/site/dashboard/"
                    + (f"  ({samples} sample decisions added, marked as such)" if samples else ""),
                    f"  API docs:                    {base}/api/docs/",
                    f"  Site key:                    {site.key}",
                    f"  API key (shown once):        {token}",
                    f"  Try: curl -H 'Authorization: Bearer {token}' "
                    f"{base}/api/v1/sites/{site.key}/consents/00000000-0000-4000-8000-000000000000/categories/analytics",
                ]
            )
        )
