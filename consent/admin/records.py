"""The proof, read-only: decisions, the configurations their visitors were shown, each visitor's
current state, and erasures."""

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from consent.admin.access import ReadOnlyAdmin, ResidentAdmin, SiteFilter
from consent.models import ConsentRecord, ConsentState, ErasureMarker, ShownConfiguration, SiteRole


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ResidentAdmin):
    view_role = SiteRole.INTEGRATIONS
    list_display = ["created_at", "site", "consent_id", "action", "source", "gpc", "regime", "region", "policy_version"]
    list_filter = [("site", SiteFilter), "action", "source", "gpc", "regime", "policy_version"]
    search_fields = ["=consent_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    exclude = ["shown"]
    readonly_fields = ["shown_configuration"]

    @admin.display(description="Shown")
    def shown_configuration(self, record):
        found = ShownConfiguration.objects.filter(site_id=record.site_id, digest=record.shown).first()
        if found is None:
            return "-"
        url = reverse("admin:consent_shownconfiguration_change", args=[found.pk])
        return format_html('<a href="{}">{}</a>', url, record.shown)


@admin.register(ShownConfiguration)
class ShownConfigurationAdmin(ReadOnlyAdmin):
    """The exact wordings visitors were shown, by digest: what a record proves they agreed to."""

    view_role = SiteRole.INTEGRATIONS
    list_display = ["first_served_at", "site", "language", "policy_version", "digest"]
    list_filter = [("site", SiteFilter)]
    search_fields = ["=digest"]
    fields = ["site", "digest", "first_served_at", "wording"]
    readonly_fields = ["wording"]

    @admin.display(description="Language")
    def language(self, shown):
        return shown.content.get("language", "")

    @admin.display(description="Policy version")
    def policy_version(self, shown):
        return shown.content.get("policy", {}).get("version", "")

    @admin.display(description="What was shown")
    def wording(self, shown):
        return format_html("<pre>{}</pre>", json.dumps(shown.content, indent=2, ensure_ascii=False))


@admin.register(ConsentState)
class ConsentStateAdmin(ResidentAdmin):
    view_role = SiteRole.INTEGRATIONS
    list_display = ["consent_id", "site", "action", "policy_version", "decided_at", "record_count"]
    list_filter = [("site", SiteFilter), "action"]
    search_fields = ["=consent_id"]
    show_full_result_count = False


@admin.register(ErasureMarker)
class ErasureMarkerAdmin(ResidentAdmin):
    view_role = SiteRole.INTEGRATIONS
    list_display = ["erased_at", "site", "reason", "record_count"]
    list_filter = [("site", SiteFilter), "reason"]
