"""Rotating SECRET_KEY: with the old one in SECRET_KEY_FALLBACKS, API keys keep working (and are
hashed again under the new key), old receipts and checkpoints still verify, and webhook endpoints
keep their secret until it is rotated."""

import hashlib
import hmac

import pytest

from consent.models import ApiKey
from consent.services.keys import derived_key, endpoints_on_old_keys
from consent.services.proof import seal_site, verify_site
from consent.services.receipts import receipt, verify_receipt
from consent.services.sites import authenticate_api_key, create_api_key, hash_api_key, site_snapshot
from consent.services.webhooks import SecretKeyGone, create_endpoint, endpoint_secret, rotate_secret
from tests.factories import decide

OLD, NEW = "old-" + "o" * 60, "new-" + "n" * 60


@pytest.fixture
def made_under_the_old_key(settings, site):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    _, token = create_api_key(site=site)
    visitor = decide(site, "accept_all").consent_id
    old_receipt = receipt(site_snapshot(site.key), visitor)
    assert seal_site(site, settle_seconds=0) is not None
    endpoint, secret = create_endpoint(site=site, url="https://hooks.example/cmp")
    return token, old_receipt, endpoint, secret


def rotate(settings, fallbacks):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, fallbacks


def test_everything_made_under_the_old_key_still_works_after_a_rotation(settings, site, made_under_the_old_key):
    token, old_receipt, endpoint, secret = made_under_the_old_key
    rotate(settings, [OLD])
    assert authenticate_api_key(token).site_id == site.id
    assert ApiKey.objects.get().key_hash == hash_api_key(token)  # hashed again under the new key
    assert verify_receipt(site_snapshot(site.key), old_receipt).reason == "recorded"
    assert verify_site(site).broken is None
    assert endpoint_secret(endpoint) == secret
    assert endpoints_on_old_keys() == [endpoint.url]
    new_receipt = receipt(site_snapshot(site.key), old_receipt["consent_id"])
    assert new_receipt["key_id"] != old_receipt["key_id"]


def test_once_the_old_key_is_dropped_only_what_was_moved_on_works(settings, site, made_under_the_old_key):
    token, old_receipt, endpoint, _ = made_under_the_old_key
    rotate(settings, [OLD])
    authenticate_api_key(token)  # the key's first use after the rotation hashes it again
    rotate(settings, [])
    assert authenticate_api_key(token).site_id == site.id
    assert verify_receipt(site_snapshot(site.key), old_receipt).reason == "unknown_key"
    with pytest.raises(SecretKeyGone, match="rotate the endpoint's secret"):
        endpoint_secret(endpoint)
    fresh = rotate_secret(endpoint)
    assert endpoint_secret(endpoint) == fresh and endpoints_on_old_keys() == []


def test_keys_from_before_per_purpose_keys_still_authenticate(settings, site):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    api_key, token = create_api_key(site=site)
    # As this release's predecessors stored it: an HMAC under SECRET_KEY itself.
    ApiKey.objects.filter(pk=api_key.pk).update(
        key_hash=hmac.new(OLD.encode(), token.encode(), hashlib.sha256).hexdigest()
    )
    assert authenticate_api_key(token).key_id == api_key.pk
    assert ApiKey.objects.get().key_hash == hash_api_key(token)


def test_each_purpose_has_its_own_key(settings):
    settings.SECRET_KEY = NEW
    keys = {derived_key(purpose) for purpose in ("api-key", "receipt", "checkpoint", "webhook", "consent-digest")}
    assert len(keys) == 5 and NEW.encode() not in keys
