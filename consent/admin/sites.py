from django.contrib import admin, messages
from django.utils.html import format_html

from consent.models import (
    ApiKey,
    Category,
    ConsentRecord,
    ConsentState,
    ErasureMarker,
    PolicyVersion,
    Site,
    SiteOrigin,
)
from consent.services.sites import create_api_key, publish_policy, revoke_api_key

__all__ = ["SiteAdmin", "ConsentRecordAdmin", "ApiKeyAdmin"]


class SiteOriginInline(admin.TabularInline):
    model = SiteOrigin
    extra = 1


class CategoryInline(admin.StackedInline):
    model = Category
    extra = 0
    fields = ["key", "position", "required", "texts", "cookie_patterns"]


class PolicyVersionInline(admin.TabularInline):
    model = PolicyVersion
    extra = 0
    fields = ["version", "published_at", "material", "url", "summary"]
    readonly_fields = ["version", "published_at", "material"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # published with the "Publish a new policy version" action, numbered for you


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "key_display", "languages", "consent_lifetime_days", "created_at"]
    search_fields = ["name", "key"]
    readonly_fields = ["key", "embed_tag", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "key", "embed_tag"]}),
        ("Languages", {"fields": ["languages", "default_language", "banner_texts"]}),
        ("Look", {"fields": ["primary_colour", "position"]}),
        ("Rules", {"fields": ["consent_lifetime_days", "retention_days"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [SiteOriginInline, CategoryInline, PolicyVersionInline]
    actions = ["publish_minor_policy", "publish_material_policy"]

    @admin.display(description="Site key")
    def key_display(self, site):
        return format_html("<code>{}</code>", site.key)

    @admin.display(description="Embed tag (put it in <head>)")
    def embed_tag(self, site):
        if not site.pk:
            return "Save the site first."
        return format_html(
            '<code>&lt;script src="https://CMP_HOST/cmp/{}.js" async&gt;&lt;/script&gt;</code>', site.key
        )

    @admin.action(description="Publish a new minor policy version (decisions stay valid)")
    def publish_minor_policy(self, request, queryset):
        for site in queryset:
            version = publish_policy(site=site, material=False)
            messages.success(request, f"{site}: published version {version.version}.")

    @admin.action(description="Publish a new material policy version (visitors are asked again)")
    def publish_material_policy(self, request, queryset):
        for site in queryset:
            version = publish_policy(site=site, material=True)
            messages.success(request, f"{site}: published material version {version.version}.")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Proof is not edited: records are shown, never changed or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "site", "consent_id", "action", "source", "policy_version", "language"]
    list_filter = ["site", "action", "source", "policy_version"]
    search_fields = ["=consent_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(ConsentState)
class ConsentStateAdmin(ReadOnlyAdmin):
    list_display = ["consent_id", "site", "action", "policy_version", "decided_at", "record_count"]
    list_filter = ["site", "action"]
    search_fields = ["=consent_id"]
    show_full_result_count = False


@admin.register(ErasureMarker)
class ErasureMarkerAdmin(ReadOnlyAdmin):
    list_display = ["erased_at", "site", "reason", "record_count"]
    list_filter = ["site", "reason"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["site"]
    fields = ["site", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "site"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        api_key, token = create_api_key(site=obj.site, name=obj.name)
        obj.pk, obj.prefix, obj.key_hash = api_key.pk, api_key.prefix, api_key.key_hash
        messages.warning(request, f"The new API key, shown only this once: {token}")

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead, so that the key's history stays

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            revoke_api_key(api_key)
        messages.success(request, "Revoked.")
