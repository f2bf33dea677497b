"""The default texts: one file per language in consent/data/texts/, each complete against English,
and a new site's banner and categories speaking its languages."""

import json
import re

import pytest

from consent.models import BUILTIN_CATEGORIES
from consent.services.config import REGIME_TEXTS, banner_config
from consent.services.defaults import BANNER_TEXTS, LANGUAGES, TEXTS_DIR, default_category_texts
from tests.factories import make_site

EU_LANGUAGES = {
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr",
    "hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
}  # fmt: skip
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def read(code: str) -> dict:
    return json.loads((TEXTS_DIR / f"{code}.json").read_text(encoding="utf-8"))


def texts_of(data: dict) -> dict[str, str]:
    """Every text in a language file, by a path such as banner.title or categories.analytics.name."""
    flat = {f"banner.{key}": text for key, text in data["banner"].items()}
    for category, fields in data["categories"].items():
        flat.update({f"categories.{category}.{field}": text for field, text in fields.items()})
    return flat


ENGLISH = texts_of(read("en"))


def test_the_24_eu_languages_norwegian_and_icelandic_ship_with_english_first():
    assert len(LANGUAGES) == 26
    assert set(LANGUAGES) == EU_LANGUAGES | {"no", "is"}
    assert LANGUAGES[0] == "en" and list(LANGUAGES[1:]) == sorted(LANGUAGES[1:])
    assert sorted(path.stem for path in TEXTS_DIR.glob("*.json")) == sorted(LANGUAGES)


def test_english_has_every_banner_text_and_the_four_categories():
    assert set(read("en")["categories"]) == set(BUILTIN_CATEGORIES)
    new_keys = {
        "settings", "blockedEmbed", "loadOnce", "alwaysAllow", "cookie", "provider", "purpose", "duration",
        "controller", "contact", "recipients", "optOutLink", "optOutTitle", "optOutDescription", "optOut",
        "optedOut", "gpcOptOut", "noticeOk", "noticeDescription",
    }  # fmt: skip
    assert new_keys <= set(BANNER_TEXTS["en"])
    assert PLACEHOLDER.findall(BANNER_TEXTS["en"]["blockedEmbed"]) == ["category"]
    assert PLACEHOLDER.findall(BANNER_TEXTS["en"]["alwaysAllow"]) == ["category"]


@pytest.mark.parametrize("code", LANGUAGES)
def test_each_language_has_exactly_the_english_texts_none_empty(code):
    texts = texts_of(read(code))
    assert set(texts) == set(ENGLISH)
    assert [path for path, text in texts.items() if not isinstance(text, str) or not text.strip()] == []


@pytest.mark.parametrize("code", LANGUAGES)
def test_each_translation_keeps_the_english_placeholders(code):
    texts = texts_of(read(code))
    wrong = {
        path: text
        for path, text in texts.items()
        if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(ENGLISH[path]))
    }
    assert wrong == {}


def test_the_module_serves_what_the_files_say():
    for code in LANGUAGES:
        data = read(code)
        assert BANNER_TEXTS[code] == data["banner"]
        for key in BUILTIN_CATEGORIES:
            assert default_category_texts(key)[code] == data["categories"][key]
    assert default_category_texts("unknown") == {}


def test_a_polish_and_icelandic_site_gets_their_banner_and_category_texts(db):
    site = make_site(languages=["en", "pl", "is"])
    texts = banner_config(site.key)["texts"]

    assert list(texts) == ["en", "pl", "is"]
    assert texts["pl"]["acceptAll"] == "Zaakceptuj wszystkie"
    assert texts["is"]["rejectAll"] == "Hafna öllum"
    assert texts["pl"]["categories"]["analytics"]["name"] == "Statystyka"
    assert texts["is"]["categories"]["marketing"]["name"] == "Markaðssetning"
    for code in ("en", "pl", "is"):
        data = read(code)
        sent = {key: text for key, text in data["banner"].items() if key not in REGIME_TEXTS}
        assert {key: text for key, text in texts[code].items() if key != "categories"} == sent
        assert texts[code]["categories"] == data["categories"]
    assert texts["pl"]["title"] != texts["en"]["title"] != texts["is"]["title"]

    names = {category.key: category.texts for category in site.categories.all()}
    assert names["authentication"]["pl"]["name"] == "Niezbędne"
    assert names["authentication"]["is"]["name"] == "Nauðsynlegar"
