"""The admin's sign-in for staff: a password and a second factor (django-otp)."""

from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


class StaffLoginForm(OTPAdminAuthenticationForm):
    """The device follows from the code typed: six digits come from the authenticator app, anything
    else is a recovery code. (django-otp would otherwise ask to pick the device first.)"""

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        token = (self.cleaned_data.get("otp_token") or "").strip()
        if device is None and token:
            model = TOTPDevice if token.isdigit() else StaticDevice
            device = model.objects.filter(user=user, confirmed=True).first()
        return device


class StaffAdminSite(OTPAdminSite):
    login_form = StaffLoginForm
