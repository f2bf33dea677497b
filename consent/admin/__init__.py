"""Admin registrations (sites and their parts, read-only decisions, API keys, the audit trail,
webhooks, per-site access, cookie scans) and the consent dashboard, linked from the admin index."""

from django.contrib import admin

from consent.admin.access import SiteAccessAdmin
from consent.admin.api_keys import ApiKeyAdmin
from consent.admin.audit import ConfigChangeAdmin
from consent.admin.records import ConsentRecordAdmin, ConsentStateAdmin, ErasureMarkerAdmin, ShownConfigurationAdmin
from consent.admin.scans import CookieScanAdmin
from consent.admin.site_settings import SiteAdmin
from consent.admin.webhooks import WebhookDeliveryAdmin, WebhookEndpointAdmin

__all__ = [
    "ApiKeyAdmin",
    "ConfigChangeAdmin",
    "ConsentRecordAdmin",
    "ConsentStateAdmin",
    "CookieScanAdmin",
    "ErasureMarkerAdmin",
    "ShownConfigurationAdmin",
    "SiteAccessAdmin",
    "SiteAdmin",
    "WebhookDeliveryAdmin",
    "WebhookEndpointAdmin",
]

admin.site.index_template = "admin/consent_index.html"
admin.site.site_header = "Consent platform"
