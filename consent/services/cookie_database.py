"""Known cookies from the Open Cookie Database: default patterns per category, classification."""

import csv
from collections import Counter
from functools import cache
from pathlib import Path
from typing import NamedTuple

DATABASE = Path(__file__).resolve().parent.parent / "data" / "open-cookie-database.csv"

# The database's categories, mapped to ours.
CATEGORY_MAP = {
    "Necessary": "authentication",
    "Security": "authentication",
    "Functional": "preferences",
    "Personalization": "preferences",
    "Analytics": "analytics",
    "Marketing": "marketing",
}
# A new site starts with the first-party cookies of the trackers most sites carry, so that
# withdrawal deletes them out of the box; the operator edits the list per site.
DEFAULT_PLATFORMS = {"Google Analytics", "Google Ads", "Hotjar", "Microsoft Clarity", "Facebook", "Matomo"}
# Families of names folded into one pattern, since every byte of the config reaches each visitor.
FAMILIES = ("_hj", "__utm", "_pk_", "_gcl_", "_gac_", "_gat", "mtm_", "matomo_", "FPGCL")


class KnownCookie(NamedTuple):
    pattern: str
    platform: str
    category: str
    description: str
    provider: str = ""
    retention: str = ""


@cache
def known_cookies() -> tuple[KnownCookie, ...]:
    with DATABASE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cookies = []
    for row in rows:
        category = CATEGORY_MAP.get(row["Category"])
        name = row["Cookie / Data Key name"].strip()
        if not category or not name:
            continue
        pattern = name + "*" if row["Wildcard match"] == "1" else name
        provider = row["Data Controller"].strip() or row["Platform"]
        cookies.append(
            KnownCookie(
                pattern, row["Platform"], category, row["Description"], provider, row["Retention period"].strip()
            )
        )
    return tuple(cookies)


def matches_pattern(name: str, pattern: str) -> bool:
    """Whether a cookie name matches a pattern in which `*` matches any run of characters.

    The fixed pieces between the stars are found left to right, each as early as it can be: time
    linear in the name however many stars, where a regular expression (or fnmatch) backtracks.
    The widget matches the same way (static/cmp/src/cookie.js)."""
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return name == pattern
    first, last = pieces[0], pieces[-1]
    if len(name) < len(first) + len(last) or not name.startswith(first) or not name.endswith(last):
        return False
    end, at = len(name) - len(last), len(first)
    for piece in pieces[1:-1]:
        found = name.find(piece, at, end)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def classify_cookie(name: str) -> KnownCookie | None:
    """The database's entry for a cookie name: an exact name first, then the longest pattern."""
    matches = [c for c in known_cookies() if matches_pattern(name, c.pattern)]
    exact = [c for c in matches if c.pattern == name]
    if exact:
        return exact[0]
    return max(matches, key=lambda c: len(c.pattern), default=None)


@cache
def default_patterns() -> dict[str, list[str]]:
    """First-party cookie patterns per category for the platforms most sites use."""
    patterns: dict[str, list[str]] = {}
    for cookie in known_cookies():
        # Third-party cookies cannot be deleted by the page: of Facebook's, only the pixel's
        # _fbp/_fbc are first-party; Google's __Secure- ones belong to google.com.
        if cookie.platform not in DEFAULT_PLATFORMS or cookie.pattern.startswith("__Secure-"):
            continue
        if cookie.platform == "Facebook" and cookie.pattern not in {"_fbp", "_fbc"}:
            continue
        family = next((f for f in FAMILIES if cookie.pattern.startswith(f)), None)
        pattern = family + "*" if family else cookie.pattern
        if any(pattern in names for names in patterns.values()):
            continue
        patterns.setdefault(cookie.category, []).append(pattern)
    return patterns


@cache
def describe_pattern(pattern: str) -> dict[str, str]:
    """What the database says of a site's cookie pattern, for the preferences dialog: its own
    entry, or for a family of names (`_hj*`) the provider its entries share; empty if unknown."""
    entries = [c for c in known_cookies() if c.pattern == pattern]
    # A family (`_hj*`) names its provider; a broad pattern (`*`, `_*`) names nobody's.
    if not entries and pattern.endswith("*") and len(pattern.rstrip("*")) >= 3:
        family = Counter(c.provider for c in known_cookies() if c.pattern.startswith(pattern[:-1]))
        return {"provider": family.most_common(1)[0][0], "purpose": "", "duration": ""} if family else {}
    if not entries:
        return {}
    known = entries[0]
    return {"provider": known.provider, "purpose": known.description, "duration": known.retention}
