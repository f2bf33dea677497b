"""What a cookie is: its category, provider, purpose and retention. The site's own declarations
come first (Category.cookie_patterns, described by Category.cookie_details), then the bundled Open
Cookie Database (consent.services.cookie_database); a cookie neither knows is unknown.

The banner's own cookie, `cmp_consent`, keeps the visitor's decision: strictly necessary, and
declared by the banner itself."""

from dataclasses import dataclass

from consent.consent_cookie import COOKIE_NAME
from consent.models import REQUIRED_CATEGORY, Site
from consent.services.cookie_database import classify_cookie, describe_pattern, matches_pattern


@dataclass(frozen=True)
class Declared:
    """One pattern a site declares, in one category, with what the site says of it."""

    category: str
    pattern: str
    provider: str = ""
    purpose: str = ""
    duration: str = ""


@dataclass(frozen=True)
class Declarations:
    """A site's declared cookies, and what its banner's own cookie is."""

    patterns: tuple[Declared, ...]
    site_name: str
    lifetime_days: int

    @classmethod
    def of_site(cls, site: Site) -> "Declarations":
        patterns = []
        for category in site.categories.all():
            for pattern in category.cookie_patterns:
                own = category.cookie_details.get(pattern) or {}
                known = describe_pattern(pattern)
                details = {
                    key: str(own.get(key) or known.get(key) or "") for key in ("provider", "purpose", "duration")
                }
                patterns.append(Declared(category.key, pattern, **details))
        return cls(tuple(patterns), site.controller_name or site.name, site.consent_lifetime_days)

    def match(self, name: str) -> Declared | None:
        """The declaration naming this cookie: an exact name first, then the longest pattern."""
        matches = [d for d in self.patterns if matches_pattern(name, d.pattern)]
        exact = [d for d in matches if d.pattern == name]
        return exact[0] if exact else max(matches, key=lambda d: len(d.pattern), default=None)


def classify(name: str, declarations: Declarations) -> dict:
    """{"category", "provider", "purpose", "retention", "source", "pattern"} for a cookie name;
    source is "site", "database" or "unknown" (category None)."""
    known = classify_cookie(name)
    if name == COOKIE_NAME:
        return {
            "category": REQUIRED_CATEGORY,
            "provider": declarations.site_name,
            "purpose": "Keeps the visitor's consent decision (this consent banner's own cookie).",
            "retention": f"{declarations.lifetime_days} days",
            "source": "site",
            "pattern": COOKIE_NAME,
        }
    declared = declarations.match(name)
    if declared:
        return {
            "category": declared.category,
            "provider": (declared.provider or (known.provider if known else "")).strip(),
            "purpose": (declared.purpose or (known.description if known else "")).strip(),
            "retention": (declared.duration or (known.retention if known else "")).strip(),
            "source": "site",
            "pattern": declared.pattern,
        }
    if known:
        return {
            "category": known.category,
            "provider": known.provider.strip(),
            "purpose": known.description.strip(),
            "retention": known.retention.strip(),
            "source": "database",
            "pattern": known.pattern,
        }
    return {"category": None, "provider": "", "purpose": "", "retention": "", "source": "unknown", "pattern": ""}
