"""The proof, read-only: decisions, each visitor's current state, and erasures."""

from django.contrib import admin

from consent.admin.access import ReadOnlyAdmin
from consent.models import ConsentRecord, ConsentState, ErasureMarker, SiteRole


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    view_role = SiteRole.INTEGRATIONS
    list_display = ["created_at", "site", "consent_id", "action", "source", "policy_version", "language"]
    list_filter = ["site", "action", "source", "policy_version"]
    search_fields = ["=consent_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(ConsentState)
class ConsentStateAdmin(ReadOnlyAdmin):
    view_role = SiteRole.INTEGRATIONS
    list_display = ["consent_id", "site", "action", "policy_version", "decided_at", "record_count"]
    list_filter = ["site", "action"]
    search_fields = ["=consent_id"]
    show_full_result_count = False


@admin.register(ErasureMarker)
class ErasureMarkerAdmin(ReadOnlyAdmin):
    view_role = SiteRole.INTEGRATIONS
    list_display = ["erased_at", "site", "reason", "record_count"]
    list_filter = ["site", "reason"]
