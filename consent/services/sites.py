"""Sites, their public configuration snapshot, API keys and policy versions."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from consent import cache
from consent.models import (
    BUILTIN_CATEGORIES,
    REQUIRED_CATEGORY,
    ApiKey,
    Category,
    PolicyVersion,
    Site,
    SiteOrigin,
    WebhookEndpoint,
    web_url,
)
from consent.services.audit import record_change
from consent.services.defaults import default_category_patterns, default_category_texts
from consent.services.errors import UnknownSite
from consent.services.keys import derived_key, secrets_in_use
from consent.services.regimes import Rules, regime_for, rules_of


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
    # The active webhook endpoints: (id, categories, events), read on every decision.
    webhooks: tuple[tuple[int, frozenset[str], frozenset[str]], ...]
    # Whether an explicit opt-in may override Global Privacy Control.
    gpc_overridable: bool = False
    # Which regime applies where (Site.regimes), and elsewhere.
    regimes: Rules = ()
    default_regime: str = "opt_in"
    # Where its visitors' data lives (consent.residency): "" for the default database.
    data_region: str = ""

    def regime_in(self, region: str) -> str:
        """The regime of a visitor from this region ("" when unknown: the strictest the site uses)."""
        return regime_for(self.regimes, self.default_regime, region)


def site_snapshot(site_key: str) -> SiteSnapshot:
    """The site's snapshot from the cache, else from the database. Raises UnknownSite."""
    memo = cache.request_memo()
    if memo is not None and site_key in memo:
        return memo[site_key]
    snapshot = cache.get_or_load(cache.site_name(site_key), lambda: load_snapshot(site_key))
    if memo is not None:
        memo[site_key] = snapshot
    return snapshot


def load_snapshot(site_key: str) -> SiteSnapshot:
    site = (
        Site.objects.filter(key=site_key)
        .only("id", "key", "consent_lifetime_days", "gpc_overridable", "regimes", "default_regime", "data_region")
        .first()
    )
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
        webhooks=tuple(
            (pk, frozenset(categories), frozenset(events))
            for pk, categories, events in WebhookEndpoint.objects.filter(site=site, active=True).values_list(
                "id", "categories", "events"
            )
        ),
        gpc_overridable=site.gpc_overridable,
        regimes=rules_of(site),
        default_regime=site.default_regime,
        data_region=site.data_region,
    )


def create_site(
    *,
    name: str,
    origins: list[str],
    languages: list[str] | None = None,
    policy_url: str = "",
    data_region: str = "",
    by=None,
) -> Site:
    """A new site with the four built-in categories and its first policy version, its visitors'
    data kept in `data_region`'s database (consent.residency; "" the default one). Raises
    ValidationError for a policy URL that is not http(s) or a region not configured."""
    languages = languages or ["en"]
    if policy_url:
        web_url(policy_url)
    if data_region and data_region not in settings.CMP_DATA_REGIONS:
        raise ValidationError({"data_region": f"No data region {data_region!r} is configured."})
    with transaction.atomic():
        site = Site.objects.create(
            name=name, default_language=languages[0], languages=",".join(languages), data_region=data_region
        )
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
        record_change(site=site, user=by, action="added", target="site", changes={"origins": [None, origins]})
    return site


def publish_policy(*, site: Site, material: bool = False, url: str = "", summary: str = "", by=None) -> PolicyVersion:
    """Publish the next policy version. A material one makes earlier decisions outdated.
    Raises ValidationError for a URL that is not http(s)."""
    if url:
        web_url(url)
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
        kind = "material policy version" if material else "policy version"
        record_change(site=site, user=by, action="published", target=f"{kind} {version.version}")
    return version


def policy_versions(site: SiteSnapshot) -> list[PolicyVersion]:
    """Every published version, newest first: visitors may ask for earlier ones."""
    return list(PolicyVersion.objects.filter(site_id=site.id).order_by("-version"))


def hash_api_key(token: str, key: bytes | None = None) -> str:
    # Keys are long random tokens: a keyed fast hash suffices, a password hasher would not pay.
    return hmac.new(key or derived_key("api-key"), token.encode(), hashlib.sha256).hexdigest()


def _older_hashes(token: str) -> list[str]:
    """What the token's hash was under each fallback of SECRET_KEY, and from before keys were
    derived per purpose (the secret itself)."""
    hashes = [hash_api_key(token, derived_key("api-key", secret)) for secret in settings.SECRET_KEY_FALLBACKS]
    return hashes + [
        hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest() for secret in secrets_in_use()
    ]


def create_api_key(*, site: Site, name: str = "default", by=None) -> tuple[ApiKey, str]:
    """A new key for the site. Returns the stored key and the token, which is shown only once."""
    token = "cmp_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        api_key = ApiKey.objects.create(site=site, name=name, prefix=token[:12], key_hash=hash_api_key(token))
        record_change(site=site, user=by, action="created", target=f"API key {api_key}")
    return api_key, token


def revoke_api_key(api_key: ApiKey, *, by=None) -> None:
    """The key stops working for every process once this commits (its save clears the cache)."""
    api_key.revoked_at = timezone.now()
    with transaction.atomic():
        api_key.save(update_fields=["revoked_at"])
        record_change(site=api_key.site, user=by, action="revoked", target=f"API key {api_key}")


@dataclass(frozen=True)
class KeyOwner:
    key_id: int
    site_id: int


def load_key_owner(token: str) -> KeyOwner | bool:
    """The active key behind this token, or False. A key stored under an older secret (a rotated
    SECRET_KEY) is found too, and hashed again under the current one."""
    key_hash = hash_api_key(token)
    row = ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True).values("id", "site_id").first()
    if row is None:
        older = ApiKey.objects.filter(key_hash__in=_older_hashes(token), revoked_at__isnull=True).first()
        if older is None:
            return False
        older.key_hash = key_hash
        older.save(update_fields=["key_hash"])
        row = {"id": older.id, "site_id": older.site_id}
    return KeyOwner(key_id=row["id"], site_id=row["site_id"])


def note_key_used(owner: KeyOwner) -> None:
    # last_used_at is written at most every few minutes per key, never once per request.
    ApiKey.objects.filter(pk=owner.key_id).update(last_used_at=timezone.now())


def authenticate_api_key(token: str) -> KeyOwner | None:
    """The active key behind a token, or None. Cached; revocation clears the cache entry."""
    key_hash = hash_api_key(token)
    owner = cache.get_or_load(cache.api_key_name(key_hash), lambda: load_key_owner(token))
    if not owner:
        return None
    if cache.touch_due(cache.touch_name(key_hash)):
        note_key_used(owner)
    return owner
