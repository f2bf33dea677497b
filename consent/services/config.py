"""The banner's configuration: what the widget needs to show itself, in one JSON object."""

from consent import cache
from consent.models import Site
from consent.services.colours import text_colour_on
from consent.services.defaults import BANNER_TEXTS
from consent.services.errors import UnknownSite


def banner_config(site_key: str) -> dict:
    """The site's banner config, cached; any change to the site clears it (ConsentConfig.ready)."""
    return cache.get_or_load(cache.config_name(site_key), lambda: _build(site_key))


def _build(site_key: str) -> dict:
    site = Site.objects.filter(key=site_key).prefetch_related("categories", "policy_versions").first()
    if site is None:
        raise UnknownSite(f"No site has the key {site_key!r}.")
    categories = list(site.categories.all())
    versions = list(site.policy_versions.all())  # newest first
    current = versions[0] if versions else None
    required = next((v.version for v in versions if v.material), 0)
    languages = [site.default_language] + [code for code in site.language_list() if code != site.default_language]
    texts = {}
    for lang in languages:
        banner = {**BANNER_TEXTS.get(lang, BANNER_TEXTS["en"]), **site.banner_texts.get(lang, {})}
        banner["categories"] = {
            c.key: c.texts.get(lang) or c.texts.get(site.default_language) or {"name": c.key, "description": ""}
            for c in categories
        }
        texts[lang] = banner
    return {
        "site": site.key,
        "policy": {
            "version": current.version if current else 0,
            "required": required,
            # Only a web link reaches the page, whatever an older release let be stored.
            "url": current.url if current and current.url.startswith(("https://", "http://")) else "",
            "updated": current.published_at.date().isoformat() if current else "",
        },
        "lifetimeDays": site.consent_lifetime_days,
        "language": site.default_language,
        "categories": [{"key": c.key, "required": c.required, "cookies": c.cookie_patterns} for c in categories],
        "texts": texts,
        "theme": {
            "colour": site.primary_colour,
            "text": text_colour_on(site.primary_colour),
            "position": site.position,
        },
    }
