"""The banner's configuration: what the widget needs to show itself, in one JSON object."""

import re
from typing import NamedTuple

from consent import cache
from consent.models import ShownConfiguration, Site
from consent.services.colours import text_colour_on
from consent.services.defaults import BANNER_TEXTS
from consent.services.errors import UnknownSite
from consent.services.proof import shown_digest
from consent.services.regimes import OPT_IN, depends_on_region, regime_for, rules_of

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The texts of the US opt-out and the inform-only regimes: translated in the defaults, and sent only
# to visitors under those regimes, since every byte of the config reaches each visitor.
REGIME_TEXTS = frozenset(
    {
        "optOutLink",
        "optOutTitle",
        "optOutDescription",
        "optOut",
        "optedOut",
        "gpcOptOut",
        "noticeOk",
        "noticeDescription",
    }
)


def banner_config(site_key: str) -> dict:
    """The site's banner config under the opt-in regime, as the public config endpoint and the
    Consent Mode stub give it."""
    return site_config(site_key)["base"]


class VisitorConfig(NamedTuple):
    config: dict
    regime: str
    # Whether visitors of other regions may get another config (the site uses several regimes).
    varies: bool


def regime_config(site_key: str, region: str) -> VisitorConfig:
    """The config for a visitor from `region` (US-CA, DE; "" when unknown), and the regime it puts
    them under: the opt-in banner's config, or the texts and shown digests of their regime in
    place of it. The opt-in config is not one byte longer for knowing the other regimes."""
    built = site_config(site_key)
    varies = depends_on_region(built["rules"], built["default_regime"])
    regime = regime_for(built["rules"], built["default_regime"], region)
    if regime == OPT_IN:
        return VisitorConfig(built["base"], regime, varies)
    overlay = built["regimes"][regime]
    config = {**built["base"], "regime": regime, "texts": overlay["texts"], "shown": overlay["shown"]}
    if region:
        config["region"] = region
    return VisitorConfig(config, regime, varies)


def regimes_in_use(site_key: str) -> list[str]:
    """The regimes a site's visitors may be under, opt-in first."""
    return [OPT_IN, *sorted(site_config(site_key)["regimes"])]


def preview_regime_config(site_key: str, regime: str) -> dict:
    """The config a visitor under `regime` gets, for the operator's preview; the opt-out one as a
    Californian's (the GPP section usca)."""
    built = site_config(site_key)
    if regime not in built["regimes"]:
        return built["base"]
    overlay = built["regimes"][regime]
    region = "US-CA" if regime == "opt_out" else ""
    return {**built["base"], "regime": regime, "texts": overlay["texts"], "shown": overlay["shown"], "region": region}


def site_config(site_key: str) -> dict:
    """Everything the configs are made of, cached; any change to the site clears it (ConsentConfig.ready)."""
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
    opt_in_texts = {
        lang: {key: text for key, text in banner.items() if key not in REGIME_TEXTS} for lang, banner in texts.items()
    }
    config = {
        "site": site.key,
        "policy": {
            "version": current.version if current else 0,
            "required": required,
            # Only a web link reaches the page, whatever an older release let be stored.
            "url": current.url if current and current.url.startswith(("https://", "http://")) else "",
            "updated": current.published_at.date().isoformat() if current else "",
        },
        **_controller(site),
        "lifetimeDays": site.consent_lifetime_days,
        "language": site.default_language,
        "categories": [{"key": c.key, "required": c.required, "cookies": c.cookie_patterns} for c in categories],
        "texts": opt_in_texts,
        "theme": {
            "colour": site.primary_colour,
            "text": text_colour_on(site.primary_colour),
            "position": site.position,
            "settingsButton": site.settings_button,
        },
        **({"reloadOnWithdrawal": True} if site.reload_on_withdrawal else {}),
        **({"gpcOverride": True} if site.gpc_overridable else {}),
        "consentMode": consent_mode(site),
    }
    rules = rules_of(site)
    others = {regime for regime, _ in rules} | {site.default_regime}
    regimes = {regime: {"texts": texts} for regime in others - {OPT_IN}}
    config["shown"] = keep_shown(site, config, regimes)
    return {"base": config, "regimes": regimes, "rules": rules, "default_regime": site.default_regime}


def consent_mode(site: Site) -> dict:
    """The site's Google Consent Mode settings, for the widget and its synchronous stub; only what
    is on, since every byte reaches each visitor (static/cmp/src/signals.js, ConsentMode).

    The regimes add no region defaults here: the widget, which knows the visitor's regime from our
    own region headers, updates Consent Mode for a visitor under opt-out or notice, so that Google's
    geolocation and ours never disagree in the visitor's disfavour."""
    mode = {"regions": site.consent_mode_regions, "redact": site.ads_data_redaction}
    mode.update(passthrough=site.url_passthrough, developerId=site.google_developer_id)
    return {key: value for key, value in mode.items() if value}


def _controller(site: Site) -> dict:
    """Who is responsible and who receives data, named in the preferences dialog (EDPB 05/2020):
    only what the site filled in, since every byte reaches each visitor."""
    named = {}
    if site.controller_name or site.controller_contact:
        named["controller"] = {"name": site.controller_name, "contact": site.controller_contact}
    recipients = [line.strip() for line in site.recipients.splitlines() if line.strip()]
    if recipients:
        named["recipients"] = recipients
    return named


def shown_content(config: dict, language: str, regime: str = OPT_IN) -> dict:
    """What a visitor reading the banner in `language` under `regime` is shown: the words, the
    categories, the policy. Its digest goes into their record (consent.models.ShownConfiguration)."""
    return {
        # Named for the other regimes only, so that the opt-in wordings kept before keep their digests.
        **({"regime": regime} if regime != OPT_IN else {}),
        "site": config["site"],
        "language": language,
        "policy": config["policy"],
        # The cookie names are shown in the preferences (their provider, purpose and duration come
        # from GET .../cookies and are not part of this proof).
        "categories": [
            {"key": c["key"], "required": c["required"], "cookies": c["cookies"]} for c in config["categories"]
        ],
        "texts": config["texts"][language],
        **{key: config[key] for key in ("controller", "recipients") if key in config},
    }


def keep_shown(site: Site, config: dict, regimes: dict[str, dict]) -> dict[str, str]:
    """Keep what each language's banner shows, once per wording, and name it by its digest for the
    widget to send back with the decision: the opt-in banner's (returned), and the other regimes'
    (set as their "shown")."""
    contents = {(OPT_IN, lang): shown_content(config, lang) for lang in config["texts"]}
    for regime, overlay in regimes.items():
        with_texts = {**config, "texts": overlay["texts"]}
        contents.update({(regime, lang): shown_content(with_texts, lang, regime) for lang in overlay["texts"]})
    digests = {name: shown_digest(content) for name, content in contents.items()}
    # Read before writing: without a shared cache this runs on every request, and a wording is
    # kept once.
    kept = set(
        ShownConfiguration.objects.filter(site=site, digest__in=digests.values()).values_list("digest", flat=True)
    )
    ShownConfiguration.objects.bulk_create(
        [
            ShownConfiguration(site=site, digest=digests[name], content=content)
            for name, content in contents.items()
            if digests[name] not in kept
        ],
        ignore_conflicts=True,
    )
    for regime, overlay in regimes.items():
        overlay["shown"] = {lang: digests[regime, lang] for lang in overlay["texts"]}
    return {lang: digests[OPT_IN, lang] for lang in config["texts"]}


def shown_in(site_id: int, site_key: str, digest: str) -> tuple[str, int, str] | None:
    """The language, policy version and regime of a configuration this site showed, or None if it
    never showed it. The current banner answers from the cache; a page loaded before a change, from
    the database."""
    built = site_config(site_key)
    version = built["base"]["policy"]["version"]
    shown = {OPT_IN: built["base"]["shown"], **{regime: o["shown"] for regime, o in built["regimes"].items()}}
    for regime, digests in shown.items():
        for lang, current in digests.items():
            if current == digest:
                return lang, version, regime
    content = (
        ShownConfiguration.objects.filter(site_id=site_id, digest=digest).values_list("content", flat=True).first()
    )
    if not content:
        return None
    return content["language"], content["policy"]["version"], content.get("regime", OPT_IN)


def with_draft(config: dict, draft: object) -> dict:
    """The config with an operator's unsaved edits laid over it, for the admin's live preview only:
    a colour, a position and banner texts per language. Anything else, or malformed, is left out;
    nothing is stored (the shown configurations name what visitors saw, never a draft)."""
    if not isinstance(draft, dict):
        return config
    theme = dict(config["theme"])
    colour = draft.get("colour")
    if isinstance(colour, str) and HEX_COLOUR.match(colour):
        theme.update(colour=colour.lower(), text=text_colour_on(colour))
    if draft.get("position") in {value for value, _ in Site.POSITIONS}:
        theme["position"] = draft["position"]
    if draft.get("settingsButton") in {value for value, _ in Site.SETTINGS_BUTTONS}:
        theme["settingsButton"] = draft["settingsButton"]
    texts = {lang: dict(banner) for lang, banner in config["texts"].items()}
    edits = draft.get("texts")
    for lang, banner in edits.items() if isinstance(edits, dict) else ():
        for key, text in banner.items() if lang in texts and isinstance(banner, dict) else ():
            if key in texts[lang] and key != "categories" and isinstance(text, str):
                text = text[:1000].encode("utf-8", "ignore").decode()  # no lone surrogates
                texts[lang][key] = text or BANNER_TEXTS.get(lang, BANNER_TEXTS["en"]).get(key, "")
    return {**config, "theme": theme, "texts": texts}
