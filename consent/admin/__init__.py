"""Admin registrations (sites and their parts, read-only decisions, API keys, the audit trail)
and the consent dashboard, linked from the admin index."""

from django.contrib import admin

from consent.admin.access import SiteAccessAdmin  # noqa: F401
from consent.admin.sites import *  # noqa: F401,F403
from consent.admin.webhooks import *  # noqa: F401,F403

admin.site.index_template = "admin/consent_index.html"
admin.site.site_header = "Consent platform"
