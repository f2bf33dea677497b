"""Webhooks never reach this host, its network or a cloud's metadata service, unless the operator
allows private networks: checked when the URL is saved and, after DNS resolution, when it is sent."""

import socket

import pytest
from django.core.exceptions import ValidationError

from consent.models import WebhookDelivery
from consent.services.webhooks import create_endpoint, deliver_due
from tests.conftest import sign_in_staff
from tests.factories import decide
from tests.test_webhooks import receivers  # noqa: F401  (a real receiver on 127.0.0.1)


@pytest.fixture(autouse=True)
def _production_default(settings):
    settings.CMP_WEBHOOKS_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_private_destinations_are_refused_when_saved(site, url):
    with pytest.raises(ValidationError, match="not a public address"):
        create_endpoint(site=site, url=url)


def test_the_admin_form_refuses_them_too(client, site):
    from django.contrib.auth.models import User

    sign_in_staff(client, User.objects.create_superuser("operator", password="pw-123456789-long"))
    response = client.post(
        "/admin/consent/webhookendpoint/add/", {"site": site.pk, "url": "http://127.0.0.1:9/", "active": "on"}
    )
    assert response.status_code == 200
    assert "not a public address" in response.content.decode()


def test_a_name_that_resolves_inside_at_send_time_is_not_called(site, settings, receivers, monkeypatch):  # noqa: F811
    """Saved while allowed (or while its name pointed elsewhere), sent when it resolves to loopback:
    the delivery fails without a request reaching the receiver."""
    receiver = receivers()
    settings.CMP_WEBHOOKS_ALLOW_PRIVATE = True
    endpoint, _ = create_endpoint(site=site, url=receiver.url.replace("127.0.0.1", "hooks.example"))
    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real_getaddrinfo("127.0.0.1" if host == "hooks.example" else host, *a, **k),
    )
    settings.CMP_WEBHOOKS_ALLOW_PRIVATE = False
    decide(site, analytics=True)
    report = deliver_due()
    assert report.delivered == 0 and receiver.requests == []
    assert "not a public address" in WebhookDelivery.objects.get(endpoint=endpoint).last_error
    settings.CMP_WEBHOOKS_ALLOW_PRIVATE = True  # an operator who allows the private network
    WebhookDelivery.objects.update(next_attempt_at=WebhookDelivery.objects.get().created_at)
    assert deliver_due().delivered == 1 and len(receiver.requests) == 1
