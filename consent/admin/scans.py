"""Cookie scans, read-only: each report (findings first, then the cookies, storage and third-party
hosts the pages used), what changed since the previous scan, and the report's suggestions added
to the site's categories in one click. "Scan now" on a site's page starts one."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from consent import scanner
from consent.admin.access import ReadOnlyAdmin, SiteFilter
from consent.models import CookieScan, Site, SiteRole
from consent.services import scans
from consent.services.access import may, sites_for
from consent.services.errors import ScanRefused

SEVERITY_ORDER = {"violation": 0, "warning": 1, "info": 2}
PASSES = {
    "before": "Before any choice",
    "rejected": "After \u201cReject all\u201d",
    "accepted": "After \u201cAccept all\u201d",
}


def scans_of(site: Site) -> str:
    return f"{reverse('admin:consent_cookiescan_changelist')}?site__id__exact={site.pk}"


def _shown(item: dict) -> dict:
    """A cookie, storage key or host of the report, with its first pass in words and its pages counted."""
    first = item.get("first_pass")
    return {**item, "first_pass_label": PASSES.get(first, first), "page_count": len(item.get("pages") or [])}


def _summary_text(scan: CookieScan) -> str:
    summary = scan.report.get("summary") or {}
    if scan.status != CookieScan.FINISHED or not summary:
        return scan.get_status_display().lower()
    return (
        f"{summary.get('cookies', 0)} cookies on {summary.get('pages', 0)} pages, "
        f"{summary.get('violations', 0)} violations, {summary.get('warnings', 0)} warnings"
    )


def scanner_field(site: Site, user) -> str:
    """The site page's "Cookie scanner" part: the latest scan and its summary, and the Scan now
    button (for those who may change the site), or why this server cannot scan."""
    latest = site.scans.first()
    if latest is None:
        parts = [format_html("<p>{}</p>", "No scan yet.")]
    else:
        parts = [
            format_html(
                '<p>Latest scan: <a href="{}">{}</a>, {}. <a href="{}">Every scan of this site</a></p>',
                reverse("admin:consent_cookiescan_change", args=[latest.pk]),
                f"{timezone.localtime(latest.created_at):%Y-%m-%d %H:%M}",
                _summary_text(latest),
                scans_of(site),
            )
        ]
    if user is not None and may(user, site, SiteRole.BANNER):
        reason = scanner.browser_available()
        if reason:
            parts.append(
                format_html('<p id="scanner-missing">The scanner is not installed on this server: {}</p>', reason)
            )
        else:
            # The site's own form posts to the scan's URL (forms do not nest).
            parts.append(
                format_html(
                    '<p><button type="submit" class="button" id="scan-now" formaction="{}" formnovalidate>'
                    "Scan now</button> Loads the site's pages in a headless browser, before any choice, after "
                    "\u201cReject all\u201d and after \u201cAccept all\u201d; takes a minute or two.</p>",
                    reverse("admin:consent_site_scan", args=[site.pk]),
                )
            )
    return format_html_join("", "{}", ((part,) for part in parts))


def report_context(scan: CookieScan) -> dict:
    """The report as the detail page shows it: findings worst first, counts instead of page lists,
    the suggestions still to apply, and what changed since the previous scan."""
    report = scan.report or {}
    findings = sorted(report.get("findings") or [], key=lambda f: SEVERITY_ORDER.get(f.get("severity"), 3))
    cookies = [
        {**_shown(cookie), "classification": cookie.get("classification") or {}}
        for cookie in report.get("cookies") or []
    ]
    return {
        "report": report,
        "summary": report.get("summary") or {},
        "findings": findings,
        "cookies": cookies,
        "storage": [_shown(item) for item in report.get("storage") or []],
        "hosts": [_shown(item) for item in report.get("hosts") or []],
        "pending": scans.pending_suggestions(scan) if scan.status == CookieScan.FINISHED else [],
        "changes": scans.scan_changes(scan) if scan.status == CookieScan.FINISHED else None,
    }


@admin.register(CookieScan)
class CookieScanAdmin(ReadOnlyAdmin):
    """Scans are records: shown, never edited. Applying a report's suggestions changes the site's
    categories, so it takes the role that edits them."""

    list_display = ["created_at", "site", "status", "trigger", "pages", "cookies", "violations", "warnings"]
    list_filter = [("site", SiteFilter), "status", "trigger"]
    list_select_related = ["site"]
    date_hierarchy = "created_at"
    fields = ["site", "status", "trigger", "requested_by", "created_at", "started_at", "finished_at", "error"]
    change_form_template = "admin/consent/scan_report.html"
    actions = ["apply_suggestions"]

    class Media:
        css = {"all": ["consent/admin/scan.css"]}

    def get_fields(self, request, obj=None):
        return self.fields if obj is not None and obj.error else [f for f in self.fields if f != "error"]

    def _figure(self, scan, name):
        return (scan.report.get("summary") or {}).get(name, "-")

    @admin.display(description="Pages")
    def pages(self, scan):
        return self._figure(scan, "pages")

    @admin.display(description="Cookies")
    def cookies(self, scan):
        return self._figure(scan, "cookies")

    @admin.display(description="Violations")
    def violations(self, scan):
        count = self._figure(scan, "violations")
        return format_html("<strong>{}</strong>", count) if isinstance(count, int) and count > 0 else count

    @admin.display(description="Warnings")
    def warnings(self, scan):
        return self._figure(scan, "warnings")

    def has_apply_permission(self, request, obj=None):
        return self._may(request, obj, SiteRole.BANNER)

    @admin.action(description="Apply the suggested cookies to the site's categories", permissions=["apply"])
    def apply_suggestions(self, request, queryset):
        for scan in queryset.select_related("site"):
            self._apply(request, scan)

    def _apply(self, request, scan: CookieScan) -> None:
        if not may(request.user, scan.site_id, SiteRole.BANNER):
            messages.error(request, f"{scan}: you may not change the categories of {scan.site}.")
            return
        try:
            added = scans.apply_suggestions(scan=scan, by=request.user)
        except ScanRefused as refused:
            messages.error(request, f"{scan}: {refused.message}")
            return
        if added:
            messages.success(request, f"{scan.site}: added {added} cookie pattern(s) to its categories.")
        else:
            messages.info(request, f"{scan.site}: every suggested cookie was already declared.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        scan = self.get_object(request, object_id)
        extra = {}
        if scan is not None:
            extra = {**report_context(scan), "may_apply": self.has_apply_permission(request, scan)}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_urls(self):
        extra = [
            path(
                "<int:pk>/apply/",
                self.admin_site.admin_view(require_POST(self.apply_view)),
                name="consent_cookiescan_apply",
            ),
            path(
                "site/<int:pk>/scan/",
                self.admin_site.admin_view(require_POST(self.scan_view)),
                name="consent_site_scan",
            ),
        ]
        return extra + super().get_urls()

    def apply_view(self, request, pk):
        """POST: apply one scan's suggestions, then back to its report."""
        scan = get_object_or_404(self.get_queryset(request).select_related("site"), pk=pk)
        if not may(request.user, scan.site_id, SiteRole.BANNER):
            raise PermissionDenied
        self._apply(request, scan)
        return HttpResponseRedirect(reverse("admin:consent_cookiescan_change", args=[scan.pk]))

    def scan_view(self, request, pk):
        """POST from a site's page: queue a scan of it and start it, then show the site's scans."""
        site = get_object_or_404(sites_for(request.user), pk=pk)
        if not may(request.user, site, SiteRole.BANNER):
            raise PermissionDenied
        try:
            scans.request_scan(site=site, by=request.user)
        except ScanRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, f"Scan of {site} started: it takes a minute or two; reload this list to see it.")
        return HttpResponseRedirect(scans_of(site))
