"""Webhook endpoints (the secret shown once, on creation) and the delivery log."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import format_html

from consent.admin.access import SiteFilter, SiteScopedAdmin
from consent.models import SiteRole, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from consent.services.audit import field_changes, record_change
from consent.services.webhooks import check_endpoint_url, endpoint_secret, redeliver, rotate_secret

__all__ = ["WebhookEndpointAdmin", "WebhookDeliveryAdmin"]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["site", "url", "description", "categories", "events", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_endpoint_url(url)
        except ValidationError as error:
            raise ValidationError(error.message_dict["url"]) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SiteScopedAdmin):
    view_role = change_role = SiteRole.INTEGRATIONS
    form = WebhookEndpointForm
    list_display = ["url", "site", "active", "categories", "events", "created_at"]
    list_filter = ["active", ("site", SiteFilter)]
    search_fields = ["url", "description"]
    fields = ["site", "url", "description", "categories", "events", "active", "created_at"]
    readonly_fields = ["created_at"]
    actions = ["rotate"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_change(
            site=obj.site,
            user=request.user,
            action="changed" if change else "added",
            target=f"webhook endpoint {obj.url}",
            changes=field_changes(form.initial, form.cleaned_data, form.changed_data),
        )
        if not change:
            messages.warning(
                request,
                format_html(
                    "Signing secret of {}: <code>{}</code>. Copy it now: it is not shown again.",
                    obj.url,
                    endpoint_secret(obj),
                ),
            )

    @admin.action(description="Rotate the signing secret (the new one is shown once)")
    def rotate(self, request, queryset):
        for endpoint in queryset:
            messages.warning(
                request,
                format_html(
                    "New secret of {}: <code>{}</code>", endpoint.url, rotate_secret(endpoint, by=request.user)
                ),
            )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ["attempted_at", "status_code", "error", "duration_ms"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(SiteScopedAdmin):
    site_path = "endpoint__site"
    view_role = change_role = SiteRole.INTEGRATIONS
    """The delivery log: every event, its attempts and failures."""

    list_display = ["event_id", "event_type", "endpoint", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", ("endpoint__site", SiteFilter)]
    search_fields = ["event_id"]
    readonly_fields = [
        "endpoint", "event_id", "payload", "status", "attempts", "next_attempt_at", "last_error", "created_at",
        "delivered_at",
    ]  # fmt: skip
    inlines = [WebhookAttemptInline]
    actions = ["send_again"]

    @admin.display(description="Type")
    def event_type(self, delivery):
        return delivery.payload.get("type", "")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Send again now")
    def send_again(self, request, queryset):
        for delivery in queryset:
            redeliver(delivery)
        messages.success(request, f"{queryset.count()} deliveries queued again.")
