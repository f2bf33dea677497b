"""The audit trail of configuration changes, read-only."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from consent.admin.access import ReadOnlyAdmin, SiteFilter
from consent.models import ConfigChange


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnlyAdmin):
    """The audit trail of configuration changes, newest first."""

    list_display = ["at", "site_name", "username", "action", "target", "changed_fields"]
    list_filter = [("site", SiteFilter), "action"]
    search_fields = ["site_name", "username", "target"]
    date_hierarchy = "at"
    fields = ["at", "site", "site_name", "username", "action", "target", "diff"]
    readonly_fields = ["diff"]

    @admin.display(description="Fields")
    def changed_fields(self, change):
        return ", ".join(change.changes) or "-"

    @admin.display(description="What changed")
    def diff(self, change):
        rows = format_html_join(
            "", "<tr><th scope='row'>{}</th><td>{}</td><td>{}</td></tr>", ((k, *v) for k, v in change.changes.items())
        )
        return format_html(
            "<table><thead><tr><th scope='col'>Field</th><th scope='col'>Before</th><th scope='col'>After</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            rows,
        )
