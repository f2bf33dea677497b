"""Shapes of what the API reads and writes. Validation of form lives here; rules in services."""

import re

from rest_framework import serializers

from consent.models import REGION_CODE, Action, Regime, Source
from consent.services.visitors import TOKEN

# A BCP 47 language tag as browsers send them (en, pt-BR, zh-Hant-TW): letters, digits, hyphens.
# Anything else, e.g. a spreadsheet formula, is refused before it is stored.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class LanguageField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=16, required=False, allow_blank=True, default="", **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and not LANGUAGE_TAG.match(value):
            raise serializers.ValidationError("Give a language tag like en or pt-BR.")
        return value


class StrictBooleanField(serializers.BooleanField):
    """true or false, nothing that merely looks like one ("yes", 1, "true")."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class VisitorTokenField(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(
            TOKEN.pattern,
            required=False,
            error_messages={"invalid": "A visitor token is 22 to 128 letters, digits, - or _."},
            **kwargs,
        )


class DecisionSerializer(serializers.Serializer):
    consent_id = serializers.UUIDField(required=False, help_text="The visitor's id; a new one is made if absent.")
    categories = serializers.DictField(child=StrictBooleanField(), required=False, default=dict)
    action = serializers.ChoiceField(choices=Action.choices)
    policy_version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    source = serializers.ChoiceField(choices=Source.choices, required=False, default=Source.BANNER)
    language = LanguageField()
    url = serializers.CharField(max_length=2048, required=False, allow_blank=True, default="")
    token = VisitorTokenField(
        help_text="The visitor token the browser made with the consent id; needed to change an existing visitor's "
        "decision from a browser."
    )
    gpc = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The browser's Global Privacy Control (navigator.globalPrivacyControl); a Sec-GPC: 1 header "
        "counts as well. Recorded as such, beside the decision's own source.",
    )
    shown = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        required=False,
        allow_blank=True,
        default="",
        help_text="The digest of the configuration the visitor was shown (`shown` in the widget's config, per "
        "language): the record then proves the exact wording. One this site showed, in the decision's language.",
    )


class VisitorTokenSerializer(serializers.Serializer):
    token = VisitorTokenField(help_text="The visitor token the browser made with the consent id.")


class RecordedSerializer(serializers.Serializer):
    consent_id = serializers.UUIDField()
    categories = serializers.DictField(child=serializers.BooleanField())
    action = serializers.CharField()
    source = serializers.CharField()
    policy_version = serializers.IntegerField()
    decided_at = serializers.DateTimeField(source="created_at")
    shown = serializers.CharField(help_text="The digest of the configuration shown, or empty.")
    gpc = serializers.BooleanField(help_text="Whether the browser sent Global Privacy Control.")
    regime = serializers.ChoiceField(choices=Regime.choices, help_text="The regime the decision was made under.")
    region = serializers.CharField(help_text="The visitor's region (US-CA, DE) as the CDN told it, or empty.")
    hash = serializers.CharField(help_text="The record's SHA-256 in the visitor's hash chain: a receipt.")
    token = serializers.CharField(
        source="issued_token",
        required=False,
        help_text="Only for a new visitor who sent no token: the one the server made. Keep it with the consent id.",
    )

    def to_representation(self, record):
        data = super().to_representation(record)
        if not data.get("token"):
            data.pop("token", None)
        return data


class CurrentConsentSerializer(serializers.Serializer):
    consent_id = serializers.UUIDField()
    categories = serializers.DictField(child=serializers.BooleanField())
    action = serializers.CharField()
    source = serializers.CharField()
    policy_version = serializers.IntegerField()
    decided_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=["valid", "expired", "outdated", "withdrawn"])
    regime = serializers.ChoiceField(choices=Regime.choices, help_text="The regime the visitor decided under.")


class CategoryCheckSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=[
            "strictly_necessary",
            "granted",
            "refused",
            "not_asked",
            "no_decision",
            "expired",
            "outdated",
            "withdrawn",
            "not_opted_out",
            "opted_out",
            "notice",
        ]
    )


class CategoryCheckQuerySerializer(serializers.Serializer):
    region = serializers.RegexField(
        REGION_CODE,
        required=False,
        help_text="The visitor's region (US-CA, DE), where the caller knows it: a visitor who never decided "
        "is then answered by their region's regime (allowed until opted out under opt_out).",
    )


class BatchCheckSerializer(serializers.Serializer):
    consent_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=1000)
    categories = serializers.ListField(child=serializers.SlugField(), required=False, max_length=100)


class BatchResultSerializer(serializers.Serializer):
    results = serializers.DictField(child=serializers.DictField(child=serializers.BooleanField()))


class RecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    consent_id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    action = serializers.CharField()
    source = serializers.CharField()
    categories = serializers.DictField(child=serializers.BooleanField())
    policy_version = serializers.IntegerField()
    language = serializers.CharField()
    url = serializers.CharField()
    user_agent = serializers.CharField()
    ip_address = serializers.CharField()
    country = serializers.CharField()
    shown = serializers.CharField(help_text="The digest of the configuration shown (see `shown` in an export).")
    gpc = serializers.BooleanField(help_text="Whether the browser sent Global Privacy Control.")
    regime = serializers.ChoiceField(choices=Regime.choices, help_text="The regime the decision was made under.")
    region = serializers.CharField(help_text="The visitor's region (US-CA, DE) as the CDN told it, or empty.")
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


class HistorySerializer(serializers.Serializer):
    consent_id = serializers.UUIDField()
    records = RecordSerializer(many=True)


class ExportSerializer(serializers.Serializer):
    format = serializers.CharField()
    exported_at = serializers.DateTimeField()
    site = serializers.CharField()
    consent_id = serializers.UUIDField()
    current = CurrentConsentSerializer(allow_null=True)
    records = RecordSerializer(many=True)
    shown = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Each configuration the records name, by digest: the exact wording the visitor was shown.",
    )
    note = serializers.CharField()


class ErasedSerializer(serializers.Serializer):
    consent_id = serializers.UUIDField()
    erased_records = serializers.IntegerField()


class PolicyVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    material = serializers.BooleanField()
    url = serializers.CharField()
    summary = serializers.CharField()


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
