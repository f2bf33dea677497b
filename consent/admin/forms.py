"""Admin forms a marketer can fill in without reading docs: plain fields instead of raw JSON,
and validation that says what to do."""

from django import forms
from django.core.exceptions import ValidationError

from consent.models import REGION_CODE, Category, Regime, Site
from consent.services.colours import contrast_ratio
from consent.services.defaults import BANNER_TEXTS

# The banner texts a marketer edits most, as plain fields per language; the rest stay in JSON.
BANNER_FIELDS = {"title": "Banner title", "description": "Banner text", "acceptAll": "Accept button"}

# Site.regimes, as one list of region codes per regime.
REGIME_FIELDS = {f"{regime}_regions": regime for regime in Regime.values}


class RegionsField(forms.CharField):
    """ISO 3166 codes (DE, US-CA), separated by commas, spaces or lines."""

    widget = forms.Textarea(attrs={"rows": 2, "cols": 60})

    def to_python(self, value):
        codes = [code.upper() for code in (super().to_python(value) or "").replace(",", " ").split()]
        wrong = [code for code in codes if not REGION_CODE.match(code)]
        if wrong:
            raise ValidationError(
                f"Not an ISO 3166 country or subdivision code: {', '.join(wrong)}. Write DE or US-CA, for example."
            )
        return list(dict.fromkeys(codes))

    def prepare_value(self, value):
        return " ".join(value) if isinstance(value, list) else value


# WCAG 2.x: normal text needs a contrast ratio of at least 4.5:1 (level AA).
AA_CONTRAST = 4.5


class SiteForm(forms.ModelForm):
    class Meta:
        model = Site
        fields = [
            "name", "languages", "default_language", "banner_texts", "primary_colour", "position",
            "consent_lifetime_days", "retention_days", "settings_button", "reload_on_withdrawal", "gpc_overridable",
            "controller_name", "controller_contact", "recipients",
            "ads_data_redaction", "url_passthrough", "google_developer_id", "consent_mode_regions", "default_regime",
            "scan_weekly",
        ]  # fmt: skip
        widgets = {"primary_colour": forms.TextInput(attrs={"type": "color"})}
        help_texts = {"primary_colour": "Buttons use white text on this colour; it must keep AA contrast (4.5:1)."}

    opt_in_regions = RegionsField(
        label="Opt-in regions", required=False, help_text="Ask first (GDPR): e.g. the EU and EEA countries, GB, CH."
    )
    opt_out_regions = RegionsField(
        label="Opt-out regions",
        required=False,
        help_text="Allowed until the visitor opts out, with a \u201cYour Privacy Choices\u201d link: e.g. US-CA, "
        "US-CO. A subdivision's regime wins over its country's.",
    )
    notice_regions = RegionsField(label="Notice-only regions", required=False, help_text="Inform only.")

    languages_shown: tuple[str, ...] = ()

    @classmethod
    def for_languages(cls, languages: tuple[str, ...]) -> type["SiteForm"]:
        """The form with the main banner texts as fields for each of the site's languages."""
        fields: dict = {"languages_shown": languages}
        for lang in languages:
            defaults = BANNER_TEXTS.get(lang, BANNER_TEXTS["en"])
            for key, label in BANNER_FIELDS.items():
                widget = forms.Textarea(attrs={"rows": 2, "cols": 60}) if key == "description" else forms.TextInput
                fields[f"{key}_{lang}"] = forms.CharField(
                    label=f"{label} ({lang})",
                    required=False,
                    widget=widget,
                    help_text=f"Empty: the standard text, \u201c{defaults[key]}\u201d.",
                )
        return type("SiteForm", (cls,), fields)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, regime in REGIME_FIELDS.items():
            rules = self.instance.regimes if isinstance(self.instance.regimes, list) else []
            self.initial.setdefault(
                name, [code for rule in rules if rule["regime"] == regime for code in rule["region"]]
            )
        texts = self.instance.banner_texts or {}
        for lang in self.languages_shown:
            for key in BANNER_FIELDS:
                self.initial.setdefault(f"{key}_{lang}", texts.get(lang, {}).get(key, ""))

    def clean(self):
        data = super().clean()
        texts = {lang: dict(v) for lang, v in (data.get("banner_texts") or {}).items()}
        for lang in self.languages_shown:
            for key in BANNER_FIELDS:
                value = (data.get(f"{key}_{lang}") or "").strip()
                if value:
                    texts.setdefault(lang, {})[key] = value
                elif f"{key}_{lang}" in self.changed_data:
                    texts.get(lang, {}).pop(key, None)
        if "banner_texts" in data:
            data["banner_texts"] = {lang: v for lang, v in texts.items() if v}
        codes = [code for name in REGIME_FIELDS for code in data.get(name) or []]
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            self.add_error("opt_out_regions", f"A region has one regime: {', '.join(twice)} appear under two.")
        else:
            self.instance.regimes = [
                {"region": data[name], "regime": regime} for name, regime in REGIME_FIELDS.items() if data.get(name)
            ]
        return data

    def clean_primary_colour(self):
        colour = self.cleaned_data["primary_colour"]
        if len(colour) == 7 and colour.startswith("#"):
            ratio = contrast_ratio("#ffffff", colour)
            if ratio < AA_CONTRAST:
                raise ValidationError(
                    f"White text on {colour} has a contrast of {ratio:.2f}:1; it needs at least 4.5:1 (WCAG AA) "
                    "to be readable. Choose a darker colour."
                )
        return colour.lower()

    def clean_banner_texts(self):
        texts = self.cleaned_data["banner_texts"]
        valid = isinstance(texts, dict) and all(
            isinstance(v, dict) and all(isinstance(t, str) for t in v.values()) for v in texts.values()
        )
        if not valid:
            raise ValidationError('Give texts per language, e.g. {"en": {"title": "Cookies?"}}.')
        return texts


DETAILS = ("provider", "purpose", "duration")


class CookieNamesField(forms.CharField):
    """Cookie names, one per line, each optionally with what the preferences dialog says of it:
    `name | provider | purpose | duration`. Cleaned to a list of (name, details) pairs (so that line
    endings alone are no change)."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 80})

    def prepare_value(self, value):
        if not isinstance(value, list):
            return value
        return "\n".join(
            " | ".join([name, *(details.get(k, "") for k in DETAILS)]).rstrip(" |") for name, details in value
        )

    def to_python(self, value):
        cookies = []
        for line in (value or "").splitlines():
            name, *described = [part.strip() for part in line.split("|")]
            if name:
                cookies.append((name, {k: v for k, v in zip(DETAILS, described, strict=False) if v}))
        return cookies

    def validate(self, value):
        bad = [name for name, _ in value if any(c in name for c in ' ;,="')]
        if bad:
            raise ValidationError(
                f"Not a cookie name: {', '.join(bad)}. Write one per line: name | provider | purpose | duration."
            )


class CategoryForm(forms.ModelForm):
    """A category with a name and a description field per language of the site, and its
    cookie names one per line; the JSON is built from them."""

    languages: tuple[str, ...] = ("en",)
    patterns = CookieNamesField(
        label="Cookie names",
        required=False,
        help_text="One per line; * matches any run of characters, e.g. _ga_*. Deleted when consent is withdrawn. "
        "Optionally what the preferences dialog says of it: _ga | Google | Tells visitors apart | 2 years "
        "(empty parts are taken from the Open Cookie Database where it knows the name).",
    )

    class Meta:
        model = Category
        fields = ["key", "position", "required"]

    @classmethod
    def for_languages(cls, languages: tuple[str, ...]) -> type["CategoryForm"]:
        """The form with a name and a description field for each of the site's languages."""
        fields = {"languages": languages}
        for lang in languages:
            fields[f"name_{lang}"] = forms.CharField(label=f"Name ({lang})", required=False, max_length=100)
            fields[f"description_{lang}"] = forms.CharField(
                label=f"Description ({lang})", required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 40})
            )
        return type("CategoryForm", (cls,), fields)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        texts = self.instance.texts or {}
        for lang in self.languages:
            self.initial.setdefault(f"name_{lang}", texts.get(lang, {}).get("name", ""))
            self.initial.setdefault(f"description_{lang}", texts.get(lang, {}).get("description", ""))
        details = self.instance.cookie_details or {}
        self.initial.setdefault(
            "patterns", [(name, details.get(name, {})) for name in self.instance.cookie_patterns or []]
        )

    def save(self, commit=True):
        category = super().save(commit=False)
        texts = dict(category.texts or {})
        for lang in self.languages:
            name = self.cleaned_data.get(f"name_{lang}", "").strip()
            description = self.cleaned_data.get(f"description_{lang}", "").strip()
            if name or description:
                texts[lang] = {"name": name or category.key, "description": description}
            else:
                texts.pop(lang, None)
        category.texts = texts
        category.cookie_patterns = [name for name, _ in self.cleaned_data["patterns"]]
        category.cookie_details = {name: details for name, details in self.cleaned_data["patterns"] if details}
        if commit:
            category.save()
        return category
