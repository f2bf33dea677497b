"""Staff accounts: their second factor (django-otp), set up from the command line or the demo."""

import base64
from dataclasses import dataclass

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10


@dataclass(frozen=True)
class SecondFactor:
    otpauth_url: str
    secret: str
    recovery_codes: list[str]


def set_up_second_factor(user) -> SecondFactor:
    """A new TOTP device and ten recovery codes for the user, replacing any earlier ones."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        totp = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=True)
        static = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    secret = base64.b32encode(totp.bin_key).decode().rstrip("=")
    return SecondFactor(otpauth_url=totp.config_url, secret=secret, recovery_codes=codes)
