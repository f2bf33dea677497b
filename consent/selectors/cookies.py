"""The cookies a site declares, per category, as the preferences dialog lists them: the site's own
details first, then what the bundled Open Cookie Database says of the name."""

from consent.models import Site
from consent.services.cookie_database import describe_pattern
from consent.services.errors import UnknownSite

FIELDS = ("provider", "purpose", "duration")


def declared_cookies(site_key: str) -> dict:
    """{"categories": {key: [{"name", "provider", "purpose", "duration"}, ...]}} in display order."""
    site = Site.objects.filter(key=site_key).prefetch_related("categories").first()
    if site is None:
        raise UnknownSite(f"No site has the key {site_key!r}.")
    categories = {}
    for category in site.categories.all():
        cookies = []
        for name in category.cookie_patterns:
            own = category.cookie_details.get(name) or {}
            known = describe_pattern(name)
            cookies.append({"name": name, **{field: own.get(field) or known.get(field, "") for field in FIELDS}})
        categories[category.key] = cookies
    return {"categories": categories}
