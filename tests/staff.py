"""Staff sign-in for Django's test client, shared by the tests and the benchmarks."""


def sign_in_staff(client, user, device_name: str = "test"):
    """As the admin requires of staff: signed in, and verified with a second factor."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name=device_name, confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
