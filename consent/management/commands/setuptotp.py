from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from consent.services.staff import set_up_second_factor


class Command(BaseCommand):
    help = (
        "Give a staff user a second factor: a TOTP secret for an authenticator app and ten one-time "
        "recovery codes (any earlier ones stop working). Prints them once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The staff user's username")

    def handle(self, *args, user, **options):
        found = get_user_model().objects.filter(username=user).first()
        if found is None:
            raise CommandError(f"No user is called {user!r}.")
        factor = set_up_second_factor(found)
        self.stdout.write(f"Authenticator app (TOTP): {factor.otpauth_url}")
        self.stdout.write(f"  or type the secret:     {factor.secret}")
        self.stdout.write("Recovery codes, each usable once in place of the app's code:")
        self.stdout.write("  " + " ".join(factor.recovery_codes))
