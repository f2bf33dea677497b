"""API keys for backend services: created with the token shown once, revoked rather than deleted."""

from django.contrib import admin, messages

from consent.admin.access import SiteFilter, SiteScopedAdmin
from consent.models import ApiKey, SiteRole
from consent.services.sites import create_api_key, revoke_api_key


@admin.register(ApiKey)
class ApiKeyAdmin(SiteScopedAdmin):
    view_role = change_role = SiteRole.INTEGRATIONS
    list_display = ["name", "site", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("site", SiteFilter)]
    fields = ["site", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "site"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        api_key, token = create_api_key(site=obj.site, name=obj.name, by=request.user)
        obj.pk, obj.prefix, obj.key_hash = api_key.pk, api_key.prefix, api_key.key_hash
        messages.warning(request, f"The new API key, shown only this once: {token}")

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead, so that the key's history stays

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True).select_related("site"):
            revoke_api_key(api_key, by=request.user)
        messages.success(request, "Revoked.")
