"""Sites, their public configuration snapshot, API keys and policy versions."""

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from consent.models import (
    BUILTIN_CATEGORIES,
    REQUIRED_CATEGORY,
    ApiKey,
    Category,
    PolicyVersion,
    Site,
    SiteOrigin,
)
from consent.services.defaults import default_category_patterns, default_category_texts
from consent.services.errors import UnknownSite

SITE_CACHE_SECONDS = 300
API_KEY_CACHE_SECONDS = 300
# last_used_at is written at most this often per key, never once per request.
API_KEY_TOUCH_SECONDS = 300


@dataclass(frozen=True)
class SiteSnapshot:
    """What the hot paths need to know about a site, cached as one value."""

    id: int
    key: str
    lifetime_days: int
    categories: tuple[str, ...]
    origins: frozenset[str]
    current_version: int
    # Decisions given under a version older than this one are outdated.
    required_version: int


def site_cache_key(site_key: str) -> str:
    return f"site:{site_key}"


# Within one request the snapshot is read once: CORS, the Origin permission and the view all
# ask for it, and each cache round trip costs about a millisecond of CPU.
_request = threading.local()


def open_request_memo(**kwargs) -> None:
    _request.snapshots = {}


def close_request_memo(**kwargs) -> None:
    _request.snapshots = None


def site_snapshot(site_key: str) -> SiteSnapshot:
    """The site's snapshot from the cache, else from the database. Raises UnknownSite."""
    memo = getattr(_request, "snapshots", None)
    if memo is not None and site_key in memo:
        return memo[site_key]
    key = site_cache_key(site_key)
    snapshot = cache.get(key)
    if snapshot is None:
        snapshot = _load_snapshot(site_key)
        cache.set(key, snapshot, SITE_CACHE_SECONDS)
    if memo is not None:
        memo[site_key] = snapshot
    return snapshot


def _load_snapshot(site_key: str) -> SiteSnapshot:
    site = Site.objects.filter(key=site_key).only("id", "key", "consent_lifetime_days").first()
    if site is None:
        raise UnknownSite(f"No site has the key {site_key!r}.")
    versions = PolicyVersion.objects.filter(site=site)
    return SiteSnapshot(
        id=site.id,
        key=site.key,
        lifetime_days=site.consent_lifetime_days,
        categories=tuple(Category.objects.filter(site=site).values_list("key", flat=True)),
        origins=frozenset(SiteOrigin.objects.filter(site=site).values_list("origin", flat=True)),
        current_version=versions.aggregate(v=Max("version"))["v"] or 0,
        required_version=versions.filter(material=True).aggregate(v=Max("version"))["v"] or 0,
    )


def forget_site_snapshot(site_key: str) -> None:
    """Clear everything cached from the site's configuration: snapshot, banner config, widget."""
    cache.delete_many([site_cache_key(site_key), f"config:{site_key}", f"widget:{site_key}"])
    if getattr(_request, "snapshots", None):
        _request.snapshots.pop(site_key, None)


def create_site(*, name: str, origins: list[str], languages: list[str] | None = None, policy_url: str = "") -> Site:
    """A new site with the four built-in categories and its first policy version."""
    languages = languages or ["en"]
    with transaction.atomic():
        site = Site.objects.create(name=name, default_language=languages[0], languages=",".join(languages))
        for origin in origins:
            SiteOrigin.objects.create(site=site, origin=origin)
        for position, key in enumerate(BUILTIN_CATEGORIES):
            Category.objects.create(
                site=site,
                key=key,
                position=position,
                required=key == REQUIRED_CATEGORY,
                texts=default_category_texts(key),
                cookie_patterns=default_category_patterns(key),
            )
        PolicyVersion.objects.create(site=site, version=1, url=policy_url, summary="First version.", material=True)
    return site


def publish_policy(*, site: Site, material: bool = False, url: str = "", summary: str = "") -> PolicyVersion:
    """Publish the next policy version. A material one makes earlier decisions outdated."""
    with transaction.atomic():
        # Lock the site row so that two publishers cannot take the same number; a no-key lock,
        # so that decisions (whose foreign key takes a share lock on it) are not held up.
        Site.objects.select_for_update(no_key=True).get(pk=site.pk)
        latest = PolicyVersion.objects.filter(site=site).order_by("-version").first()
        version = PolicyVersion.objects.create(
            site=site,
            version=(latest.version + 1) if latest else 1,
            material=material,
            url=url or (latest.url if latest else ""),
            summary=summary,
        )
    return version


def policy_versions(site: SiteSnapshot) -> list[PolicyVersion]:
    """Every published version, newest first: visitors may ask for earlier ones."""
    return list(PolicyVersion.objects.filter(site_id=site.id).order_by("-version"))


def hash_api_key(token: str) -> str:
    # Keys are long random tokens: a keyed fast hash suffices, a password hasher would not pay.
    return hmac.new(settings.SECRET_KEY.encode(), token.encode(), hashlib.sha256).hexdigest()


def api_key_cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def api_key_touch_key(key_hash: str) -> str:
    """Present while the key's last_used_at is recent enough not to be written again."""
    return f"apikey-used:{key_hash}"


def create_api_key(*, site: Site, name: str = "default") -> tuple[ApiKey, str]:
    """A new key for the site. Returns the stored key and the token, which is shown only once."""
    token = "cmp_" + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(site=site, name=name, prefix=token[:12], key_hash=hash_api_key(token))
    return api_key, token


def revoke_api_key(api_key: ApiKey) -> None:
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    cache.delete(api_key_cache_key(api_key.key_hash))


@dataclass(frozen=True)
class KeyOwner:
    key_id: int
    site_id: int


def authenticate_api_key(token: str) -> KeyOwner | None:
    """The active key behind a token, or None. Cached; revocation clears the cache entry."""
    key_hash = hash_api_key(token)
    cache_key = api_key_cache_key(key_hash)
    owner = cache.get(cache_key)
    if owner is None:
        row = ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True).values("id", "site_id").first()
        owner = KeyOwner(key_id=row["id"], site_id=row["site_id"]) if row else False
        cache.set(cache_key, owner, API_KEY_CACHE_SECONDS)
    if not owner:
        return None
    if cache.add(api_key_touch_key(key_hash), 1, API_KEY_TOUCH_SECONDS):
        ApiKey.objects.filter(pk=owner.key_id).update(last_used_at=timezone.now())
    return owner
