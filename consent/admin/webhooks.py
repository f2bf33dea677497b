"""Webhook endpoints (the secret shown once, on creation) and the delivery log."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import format_html

from consent.admin.access import ResidentAdmin, SiteFilter, SiteScopedAdmin
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
class WebhookDeliveryAdmin(ResidentAdmin):
    """The delivery log: every event, its attempts and failures, in the chosen site's database
    (its visitors' data, consent.residency)."""

    site_path = "endpoint__site"
    site_filter = "endpoint__site__id__exact"
    view_role = change_role = SiteRole.INTEGRATIONS

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

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        kwargs["queryset"] = kwargs["queryset"].using(obj._state.db)  # the attempts live beside their delivery
        return kwargs

    @admin.action(description="Send again now")
    def send_again(self, request, queryset):
        for delivery in queryset:
            redeliver(delivery)
        messages.success(request, f"{queryset.count()} deliveries queued again.")
