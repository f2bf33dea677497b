"""Texts every site starts with: the banner's and the built-in categories', in the 24 official EU
languages, Norwegian (Bokmål) and Icelandic. One JSON file per language in consent/data/texts/,
read once at import."""

import json
from pathlib import Path

from consent.services.cookie_database import default_patterns

TEXTS_DIR = Path(__file__).resolve().parent.parent / "data" / "texts"

_TEXTS = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in TEXTS_DIR.glob("*.json")}

# English first: the fallback for a language without texts, and the reference for the others' keys.
LANGUAGES = ("en", *sorted(code for code in _TEXTS if code != "en"))

BANNER_TEXTS = {code: _TEXTS[code]["banner"] for code in LANGUAGES}


def default_category_texts(key: str) -> dict[str, dict[str, str]]:
    """The name and description of a built-in category in every language; empty for another key."""
    return {code: dict(_TEXTS[code]["categories"][key]) for code in LANGUAGES if key in _TEXTS[code]["categories"]}


def default_category_patterns(key: str) -> list[str]:
    return list(default_patterns().get(key, []))
