"""Sites, their categories and policy versions, consent records (the proof), and API keys."""

import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.utils import timezone

BUILTIN_CATEGORIES = ("authentication", "preferences", "analytics", "marketing")
# The one category a visitor cannot refuse (docs/integration.md, "Concepts").
REQUIRED_CATEGORY = "authentication"


def new_site_key() -> str:
    return secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


# A country (DE) or a subdivision (US-CA), as ISO 3166 and Google Consent Mode write them.
REGION_CODE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #1a56db (# and six hex digits).")


class Regime(models.TextChoices):
    """The rules a visitor's region puts them under (consent.services.regimes)."""

    OPT_IN = "opt_in", "Opt-in: ask first (GDPR)"
    OPT_OUT = "opt_out", "Opt-out: allowed until the visitor opts out (US state laws)"
    NOTICE = "notice", "Notice only"


# Where GDPR-style opt-in applies: the EU and EEA, the United Kingdom and Switzerland.
OPT_IN_COUNTRIES = [
    *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"),  # EU
    *("IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
    *("IS", "LI", "NO"),  # EEA
    *("GB", "CH"),
]
# US states whose comprehensive privacy laws give a right to opt out of the sale or sharing of
# personal data and of targeted advertising, in force or enacted by 2026.
OPT_OUT_STATES = [
    *("US-CA", "US-CO", "US-CT", "US-DE", "US-IA", "US-IN", "US-KY", "US-MD", "US-MN", "US-MT"),
    *("US-NE", "US-NH", "US-NJ", "US-OR", "US-RI", "US-TN", "US-TX", "US-UT", "US-VA"),
]


def default_regimes() -> list[dict]:
    """A new site's rules: opt-in in Europe, opt-out in the US states with privacy laws, and the
    site's default regime (opt-in) everywhere else."""
    return [
        {"region": list(OPT_IN_COUNTRIES), "regime": Regime.OPT_IN.value},
        {"region": list(OPT_OUT_STATES), "regime": Regime.OPT_OUT.value},
    ]


def validate_origin(value: str) -> None:
    """An origin is a scheme and a host (and a port), nothing more: https://shop.example."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(f"{value!r} is not an origin: write a scheme and a host, e.g. https://shop.example.")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username:
        raise ValidationError(f"{value!r} has more than a scheme and host: drop the path, e.g. https://shop.example.")


def normalise_origin(value: str) -> str:
    parts = urlsplit(value.strip())
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return f"{parts.scheme.lower()}://{netloc.lower()}"


class Site(models.Model):
    """A website that embeds the banner. Its key is public; its API keys are not."""

    POSITIONS = [("bottom", "Bottom bar"), ("center", "Centre dialog"), ("top", "Top bar")]
    SETTINGS_BUTTONS = [("left", "Bottom left"), ("right", "Bottom right"), ("off", "None (the site links to it)")]

    key = models.CharField(max_length=32, unique=True, default=new_site_key, editable=False)
    name = models.CharField(max_length=200)
    default_language = models.CharField(max_length=16, default="en")
    languages = models.CharField(
        max_length=100,
        default="en",
        help_text="Languages the banner speaks, comma-separated. Texts ship for en, de, fr and es.",
    )
    consent_lifetime_days = models.PositiveIntegerField(
        default=182,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="After this many days a decision expires and the banner asks again (default: 6 months).",
    )
    retention_days = models.PositiveIntegerField(
        default=3 * 365,
        validators=[MinValueValidator(1)],
        help_text="Decision records are kept this many days after the visitor's latest decision.",
    )
    banner_texts = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per language overrides of the banner texts: {"en": {"title": "..."}}.',
    )
    controller_name = models.CharField(
        "controller",
        max_length=200,
        blank=True,
        help_text="Who is responsible for the data (GDPR Art. 4(7)), named in the preferences dialog.",
    )
    controller_contact = models.CharField(
        max_length=300, blank=True, help_text="How visitors reach the controller: an email address or a page."
    )
    recipients = models.TextField(
        blank=True, help_text="The third parties that receive data, one per line (e.g. Google Ireland Ltd.)."
    )
    primary_colour = models.CharField(max_length=7, default="#1d4ed8", validators=[hex_colour])
    position = models.CharField(max_length=10, choices=POSITIONS, default="bottom")
    settings_button = models.CharField(
        "cookie settings button",
        max_length=10,
        choices=SETTINGS_BUTTONS,
        default="left",
        help_text="A small floating button that reopens the preferences once a visitor has decided, so that "
        "withdrawing is as easy as giving. Off only if every page links to CMP.showPreferences().",
    )
    gpc_overridable = models.BooleanField(
        "an explicit opt-in may override GPC",
        default=False,
        help_text="A visitor whose browser sends Global Privacy Control may still switch marketing on "
        "themselves (the CCPA rules allow asking). Off: the signal always refuses marketing.",
    )
    ads_data_redaction = models.BooleanField(
        default=True, help_text="Google Consent Mode: redact ad click identifiers while ad_storage is denied."
    )
    url_passthrough = models.BooleanField(
        default=False,
        help_text="Google Consent Mode: pass ad click information through URLs while cookies are denied.",
    )
    google_developer_id = models.CharField(
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^[A-Za-z0-9]+$", "Letters and digits only.")],
        help_text="Google Consent Mode: the developer id Google issued for this consent platform, if any.",
    )
    consent_mode_regions = models.JSONField(
        "Consent Mode defaults by region",
        default=list,
        blank=True,
        help_text="Categories granted by default in some regions, before any decision (ISO 3166 codes, e.g. "
        '[{"region": ["US-CA"], "granted": ["analytics", "marketing"]}]). Everywhere else everything is denied.',
    )
    regimes = models.JSONField(
        "regimes by region",
        default=default_regimes,
        # Sites from before regimes, and any a previous release creates during an upgrade, keep the
        # opt-in banner everywhere, as they had it.
        db_default=[],
        blank=True,
        help_text="Which regime applies where (ISO 3166 countries or subdivisions): opt_in, opt_out or notice, "
        'e.g. [{"region": ["US-CA"], "regime": "opt_out"}]. A subdivision\'s rule wins over its country\'s. '
        "Needs the visitor's region from your CDN (CMP_COUNTRY_HEADER, CMP_REGION_HEADER).",
    )
    default_regime = models.CharField(
        "regime elsewhere",
        max_length=8,
        choices=Regime.choices,
        default=Regime.OPT_IN,
        db_default="opt_in",
        help_text="For a known region no rule names. A visitor whose region is unknown gets the strictest "
        "regime the site uses.",
    )
    scan_weekly = models.BooleanField(
        "scan weekly",
        default=False,
        db_default=False,
        help_text="Scan the site's pages for cookies once a week (the cron job `manage.py scansite --due`).",
    )
    data_region = models.CharField(
        max_length=16,
        blank=True,
        default="",
        db_default="",
        help_text="The region whose database keeps this site's visitors' data (DATABASE_URLS_BY_REGION); empty: the "
        "default database. Chosen when the site is created: it cannot change afterwards.",
    )
    reload_on_withdrawal = models.BooleanField(
        default=False,
        help_text="Reload the page when a visitor withdraws a category, so that scripts already running stop.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.data_region and self.data_region not in settings.CMP_DATA_REGIONS:
            named = ", ".join(settings.CMP_DATA_REGIONS) or "none"
            raise ValidationError({"data_region": f"No such data region (DATABASE_URLS_BY_REGION names {named})."})
        if self.pk and Site.objects.filter(pk=self.pk).exclude(data_region=self.data_region).exists():
            raise ValidationError({"data_region": "A site's data region cannot change: its data lives there."})
        self.clean_consent_mode_regions()
        self.clean_regimes()
        if self.default_language not in self.language_list():
            raise ValidationError({"default_language": "The default language must be one of the site's languages."})

    def clean_consent_mode_regions(self):
        regions = self.consent_mode_regions
        valid = isinstance(regions, list) and all(
            isinstance(entry, dict)
            and set(entry) == {"region", "granted"}
            and isinstance(entry["region"], list)
            and entry["region"]
            and all(isinstance(code, str) and REGION_CODE.match(code) for code in entry["region"])
            and isinstance(entry["granted"], list)
            and all(key in ("preferences", "analytics", "marketing") for key in entry["granted"])
            for entry in regions
        )
        if not valid:
            example = '[{"region": ["US-CA", "US-CO"], "granted": ["analytics"]}]'
            raise ValidationError(
                {
                    "consent_mode_regions": f"Give a list like {example}: ISO 3166 country or subdivision codes, "
                    "and categories among preferences, analytics, marketing."
                }
            )

    def clean_regimes(self):
        rules = self.regimes
        valid = isinstance(rules, list) and all(
            isinstance(rule, dict)
            and set(rule) == {"region", "regime"}
            and rule["regime"] in Regime.values
            and isinstance(rule["region"], list)
            and rule["region"]
            and all(isinstance(code, str) and REGION_CODE.match(code) for code in rule["region"])
            for rule in rules
        )
        if not valid:
            example = '[{"region": ["US-CA", "US-CO"], "regime": "opt_out"}]'
            raise ValidationError(
                {
                    "regimes": f"Give a list like {example}: ISO 3166 country or subdivision codes, "
                    f"and one of {', '.join(Regime.values)}."
                }
            )
        codes = [code for rule in rules for code in rule["region"]]
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            raise ValidationError({"regimes": f"Each region has one regime: {', '.join(twice)} appear twice."})

    def language_list(self) -> list[str]:
        return [code.strip().lower() for code in self.languages.split(",") if code.strip()]

    @property
    def consent_lifetime(self) -> timedelta:
        return timedelta(days=self.consent_lifetime_days)


class SiteOrigin(models.Model):
    """An origin whose pages may call the public API (CORS and the POST Origin check)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="origins")
    origin = models.CharField(max_length=255, validators=[validate_origin])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "origin"], name="unique_site_origin")]

    def __str__(self) -> str:
        return self.origin

    def save(self, *args, **kwargs):
        self.origin = normalise_origin(self.origin)
        super().save(*args, **kwargs)


class Category(models.Model):
    """A purpose a site asks consent for, with its texts per language and its cookie patterns."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="categories")
    key = models.SlugField(max_length=50)
    position = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=False, help_text="Always on; the visitor cannot refuse it.")
    texts = models.JSONField(
        default=dict,
        blank=True,
        help_text='Name and description per language: {"en": {"name": "...", "description": "..."}}.',
    )
    cookie_patterns = models.JSONField(
        default=list,
        blank=True,
        help_text="First-party cookie names to delete on withdrawal; * matches any run of characters.",
    )
    # What the preferences dialog says of a cookie the Open Cookie Database does not describe, or
    # describes otherwise: {"name": {"provider": ..., "purpose": ..., "duration": ...}}.
    cookie_details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint(fields=["site", "key"], name="unique_site_category")]

    def __str__(self) -> str:
        return self.key

    def clean(self):
        if self.key == REQUIRED_CATEGORY and not self.required:
            raise ValidationError({"required": "authentication is strictly necessary and cannot be refused."})
        if self.key != REQUIRED_CATEGORY and self.required:
            raise ValidationError({"required": "Only authentication may be always on: no pre-ticked boxes."})
        if not isinstance(self.cookie_patterns, list) or not all(isinstance(p, str) for p in self.cookie_patterns):
            raise ValidationError({"cookie_patterns": 'Give a list of cookie names, e.g. ["_ga", "_ga_*"].'})


# Links a browser follows or a server posts to: nothing but http(s) (a javascript: policy link
# would run in the visitor's page).
web_url = URLValidator(schemes=["http", "https"])


class PolicyVersion(models.Model):
    """One published version of a site's cookie policy. A material one outdates earlier decisions."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="policy_versions")
    version = models.PositiveIntegerField()
    published_at = models.DateTimeField(default=timezone.now)
    summary = models.TextField(blank=True)
    url = models.URLField(blank=True, validators=[web_url])
    material = models.BooleanField(
        default=False, help_text="A material change makes earlier decisions outdated: visitors are asked again."
    )

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["site", "version"], name="unique_site_policy_version")]

    def __str__(self) -> str:
        return f"{self.site} v{self.version}"


class Action(models.TextChoices):
    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    CUSTOM = "custom"
    WITHDRAW = "withdraw"


class Source(models.TextChoices):
    BANNER = "banner"
    PREFERENCES = "preferences"
    API = "api"
    GPC = "gpc"


class ConsentRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Consent records are append-only proof: they are never updated.")


class ConsentRecord(models.Model):
    """One decision, as proof (GDPR Art. 7(1)): who, when, what was shown, what was chosen.

    Append-only. Each record hashes its content together with the visitor's previous record, so
    an edit, insertion or deletion breaks the chain (see consent.services.proof). Only the
    retention and erasure services delete records, and they leave a marker.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="records")
    consent_id = models.UUIDField()
    categories = models.JSONField()
    action = models.CharField(max_length=16, choices=Action.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    policy_version = models.PositiveIntegerField()
    language = models.CharField(max_length=16, blank=True)
    url = models.CharField(max_length=2048, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    ip_address = models.CharField(max_length=64, blank=True, help_text="Truncated before storage.")
    country = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The digest of the exact configuration the visitor was shown (ShownConfiguration); empty for
    # a decision recorded by a backend or before it was kept. Part of the record's hash when set.
    shown = models.CharField(max_length=64, blank=True, default="", db_default="")
    # Whether the browser sent Global Privacy Control with the decision. Part of the hash when set.
    # (Before this field, such records said so by their source, "gpc".)
    gpc = models.BooleanField("GPC", default=False, db_default=False)
    # The regime the visitor decided under, and their region (US-CA, DE) as the operator's CDN told
    # it (consent.services.regimes). Part of the hash when not opt_in / when known.
    regime = models.CharField(max_length=8, choices=Regime.choices, default=Regime.OPT_IN, db_default="opt_in")
    region = models.CharField(max_length=6, blank=True, default="", db_default="")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["site", "consent_id", "id"], name="record_visitor_idx"),
            models.Index(fields=["site", "created_at"], name="record_site_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.consent_id} {self.action} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Consent records are append-only proof: they are never updated.")
        super().save(*args, **kwargs)


class ShownConfiguration(models.Model):
    """What a visitor was shown, word for word: the texts in one language, the categories and their
    descriptions, the policy version. Kept under the SHA-256 of its canonical JSON
    (consent.services.proof.shown_digest), never changed, and kept after the site's texts change,
    so that a record proves what its visitor agreed to."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="shown_configurations")
    digest = models.CharField(max_length=64)
    content = models.JSONField()
    first_served_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "digest"], name="unique_site_shown")]

    def __str__(self) -> str:
        return f"{self.content.get('language', '')} {self.digest[:12]}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("A shown configuration is proof: it is never changed.")
        super().save(*args, **kwargs)


class ConsentState(models.Model):
    """A visitor's current decision: one row per visitor, read by the "may I?" check.

    Derived from the records and rewritten with each one; also the head of the visitor's hash
    chain, so that recording locks one visitor's row and never the whole table.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="states")
    consent_id = models.UUIDField()
    categories = models.JSONField()
    action = models.CharField(max_length=16, choices=Action.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    policy_version = models.PositiveIntegerField()
    decided_at = models.DateTimeField()
    first_decided_at = models.DateTimeField()
    record_count = models.PositiveIntegerField(default=0)
    # The regime of the latest decision: under opt_out a category is allowed until refused.
    regime = models.CharField(max_length=8, choices=Regime.choices, default=Regime.OPT_IN, db_default="opt_in")
    head_hash = models.CharField(max_length=64)
    # SHA-256 of the visitor's token, a secret their browser made with the consent id: changing,
    # erasing or reading this visitor's consent from a browser needs it. Empty for a visitor whose
    # first decision predates tokens, until their browser claims one (consent.services.visitors).
    token_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "consent_id"], name="unique_site_visitor")]
        indexes = [models.Index(fields=["site", "decided_at"], name="state_site_time_idx")]

    def __str__(self) -> str:
        return str(self.consent_id)


class ErasureMarker(models.Model):
    """What is left where records were deleted (erasure or retention): a verifiable gap.

    The visitor's id is kept only as a keyed digest, so the marker proves that a deletion
    happened and which chain head it closed without identifying the visitor.
    """

    REASONS = [("erasure", "Erasure request"), ("retention", "Retention period over")]

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="erasures")
    consent_digest = models.CharField(max_length=64, db_index=True)
    reason = models.CharField(max_length=16, choices=REASONS)
    record_count = models.PositiveIntegerField()
    head_hash = models.CharField(max_length=64)
    erased_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.record_count} records on {self.erased_at:%Y-%m-%d}"


class ApiKey(models.Model):
    """A server-to-server key for one site. Only an HMAC of it is stored; the prefix stays readable."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ProofCheckpoint(models.Model):
    """A seal over a period of a site's records: the Merkle root of their hashes, chained to the
    previous checkpoint and signed, so that an edit, insertion or deletion inside a sealed period
    is detectable even if the visitor's chain was rewritten (see consent.services.proof)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="checkpoints")
    sequence = models.PositiveIntegerField()
    last_record_id = models.BigIntegerField(help_text="The period is the records after the previous seal, up to it.")
    record_count = models.PositiveIntegerField()
    merkle_root = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["site", "sequence"]
        constraints = [models.UniqueConstraint(fields=["site", "sequence"], name="unique_site_checkpoint")]

    def __str__(self) -> str:
        return f"{self.site} checkpoint {self.sequence}"


class ErasedRecord(models.Model):
    """What a deleted record leaves behind: its id and its links, never its content, so that
    the visitor's chain and the checkpoints over it still verify (the marker explains the gap)."""

    marker = models.ForeignKey(ErasureMarker, on_delete=models.CASCADE, related_name="erased_records")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="erased_records")
    record_id = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["record_id"]
        constraints = [models.UniqueConstraint(fields=["site", "record_id"], name="unique_erased_record")]

    def __str__(self) -> str:
        return f"erased record {self.record_id}"


class WebhookEvent(models.TextChoices):
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"
    WITHDRAWAL = "withdrawal"
    ERASURE = "erasure"
    EXPIRY = "expiry"


def new_webhook_salt() -> str:
    return secrets.token_hex(16)


def validate_webhook_filter(value) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError('Give a list of names, e.g. ["marketing"]; an empty list means all.')


class WebhookEndpoint(models.Model):
    """A backend service's URL that receives a signed POST when a visitor's consent changes.

    Its secret is derived from SECRET_KEY and the salt, so the database never holds it; the
    admin shows it once, on creation.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(
        max_length=500, validators=[web_url], help_text="Receives a POST with a JSON body, signed in CMP-Signature."
    )
    description = models.CharField(max_length=200, blank=True)
    categories = models.JSONField(
        default=list, blank=True, validators=[validate_webhook_filter], help_text="Category keys; empty: all."
    )
    events = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_webhook_filter],
        help_text="Any of opt_in, opt_out, withdrawal, erasure, expiry; empty: all.",
    )
    active = models.BooleanField(default=True)
    secret_salt = models.CharField(max_length=32, default=new_webhook_salt, editable=False)
    # Which of SECRET_KEY and its fallbacks the secret is derived from (its key id): a rotated
    # SECRET_KEY keeps the endpoint's secret until the secret itself is rotated.
    secret_key_id = models.CharField(max_length=40, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["site", "id"]

    def __str__(self) -> str:
        return self.url

    def clean(self):
        unknown = sorted(set(self.events or []) - set(WebhookEvent.values))
        if unknown:
            known = ", ".join(WebhookEvent.values)
            raise ValidationError({"events": f"Unknown events {', '.join(unknown)}: use {known}."})


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row, written in the decision's transaction, and
    its delivery state. Delivered at least once; retried with exponential backoff."""

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATUSES = [(PENDING, "Pending"), (DELIVERED, "Delivered"), (FAILED, "Failed")]

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx")]

    def __str__(self) -> str:
        return f"{self.payload.get('type', 'event')} {self.event_id}"


class WebhookAttempt(models.Model):
    """One try of a delivery, for the log: when, the answer's status or the error, how long."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"


class ExpiryScan(models.Model):
    """How far the expiry notifier has looked for each site: decisions that expired before
    `scanned_until` have had their webhook event."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="expiry_scan")
    scanned_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.site} scanned until {self.scanned_until:%Y-%m-%d %H:%M}"


class StatView(models.TextChoices):
    """The two ways the dashboard counts: every decision on its day, or each visitor once."""

    DECISIONS = "decisions", "Decisions over time"
    CURRENT = "current", "Current consent (each visitor once, latest decision)"


class DailyConsentStat(models.Model):
    """A daily roll-up of decisions, kept by `manage.py rollup` (consent.services.rollup).

    In the `decisions` view each decision counts on its day; in the `current` view each visitor
    counts once, on the day of their latest decision. `allowed` holds how many of `count`
    allowed each category: {"analytics": 12, ...}.
    """

    view = models.CharField(max_length=10, choices=StatView.choices)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="daily_stats")
    day = models.DateField()
    policy_version = models.PositiveIntegerField()
    language = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True)
    regime = models.CharField(max_length=8, choices=Regime.choices, default=Regime.OPT_IN, db_default="opt_in")
    region = models.CharField(max_length=6, blank=True, default="", db_default="")
    action = models.CharField(max_length=16, choices=Action.choices)
    count = models.IntegerField(default=0)
    allowed = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["view", "site", "day", "policy_version", "language", "country", "regime", "region", "action"],
                name="unique_daily_stat",
            )
        ]
        indexes = [models.Index(fields=["view", "day"], name="daily_stat_view_day_idx")]

    def __str__(self) -> str:
        return f"{self.view} {self.site_id} {self.day} {self.action}: {self.count}"


class RollupMark(models.Model):
    """How far the roll-up has read: every record with an id up to `last_record_id` is counted."""

    name = models.CharField(max_length=50, unique=True)
    last_record_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_record_id}"


class PendingRemoval(models.Model):
    """A counted visitor whose records were erased: the next roll-up takes them out of the
    current figures. Holds the bucket only, never the visitor's id."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    policy_version = models.PositiveIntegerField()
    language = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True)
    regime = models.CharField(max_length=8, choices=Regime.choices, default=Regime.OPT_IN, db_default="opt_in")
    region = models.CharField(max_length=6, blank=True, default="", db_default="")
    action = models.CharField(max_length=16, choices=Action.choices)
    categories = models.JSONField()

    def __str__(self) -> str:
        return f"removal from {self.site_id} {self.day}"


class DailyImpressions(models.Model):
    """Banners shown, counted per site, day, language and country; nothing per visitor."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="impressions")
    day = models.DateField()
    language = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "daily impressions"
        constraints = [
            models.UniqueConstraint(fields=["site", "day", "language", "country"], name="unique_daily_impressions")
        ]

    def __str__(self) -> str:
        return f"{self.site_id} {self.day}: {self.count}"


class ConfigChange(models.Model):
    """The audit trail: who changed what in a site's configuration, when, field by field."""

    site = models.ForeignKey(Site, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes")
    site_name = models.CharField(max_length=200)
    user = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    username = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    target = models.CharField(max_length=200, help_text="What was changed: the site, a category, an origin...")
    action = models.CharField(max_length=20)
    changes = models.JSONField(default=dict, blank=True, help_text='{"field": [before, after]}')

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "configuration change"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username}: {self.action} {self.target}"


class CacheEpoch(models.Model):
    """One row: the generation of the shared cache (consent.cache). A change whose invalidation
    could not reach the cache moves it on, and every process then ignores what was cached before."""

    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "cache epoch"

    def __str__(self) -> str:
        return f"cache epoch {self.value}"


class SiteRole(models.TextChoices):
    """What a staff user who is not a superuser may do with a site; each role includes the ones before."""

    FIGURES = "figures", "View its figures and audit trail"
    BANNER = "banner", "…and edit its banner and configuration"
    INTEGRATIONS = "integrations", "…and manage its API keys, webhooks and decision records"


class SiteAccess(models.Model):
    """A site given to a staff user (a marketer, an agency), with a role. Superusers see all sites."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="site_access")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="access")
    role = models.CharField(max_length=16, choices=SiteRole.choices, default=SiteRole.FIGURES)

    class Meta:
        verbose_name = "site access"
        verbose_name_plural = "site access"
        constraints = [models.UniqueConstraint(fields=["user", "site"], name="unique_site_access")]

    def __str__(self) -> str:
        return f"{self.user} on {self.site}: {self.role}"


class CookieScan(models.Model):
    """One run of the cookie scanner over a site's pages (consent.scanner): what the pages set before
    any decision, after "Reject all" and after "Accept all", classified, with the findings. Kept, so
    that the admin shows each report and what changed since the previous one."""

    QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"
    STATUSES = [(QUEUED, "Queued"), (RUNNING, "Running"), (FINISHED, "Finished"), (FAILED, "Failed")]
    TRIGGERS = [("command", "Command"), ("admin", "Scan now"), ("schedule", "Schedule")]

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="scans")
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    trigger = models.CharField(max_length=10, choices=TRIGGERS, default="command")
    requested_by = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The whole report (consent.scanner.report): pages, cookies, storage, hosts, findings, suggestions.
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, help_text="Why the scan could not run, for a failed one.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["site", "created_at"], name="scan_site_time_idx")]

    def __str__(self) -> str:
        return f"{self.site} scan {self.created_at:%Y-%m-%d %H:%M} ({self.status})"
