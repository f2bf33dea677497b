"""Cookie scans asked for from the admin, run as a separate process (`manage.py scansite --scan ID`),
their suggestions added to the site's categories, and what changed from one scan to the next."""

import subprocess
import sys
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from consent import scanner
from consent.models import Category, CookieScan, Site
from consent.services.audit import field_changes, record_change
from consent.services.cookie_database import matches_pattern
from consent.services.errors import ScanRefused

# A queued or running scan younger than this holds off another of the same site; an older one is
# taken for dead (its process was killed, the server restarted).
SCAN_WINDOW = timedelta(hours=1)
DETAILS = ("provider", "purpose", "duration")


def launch(argv: list[str]) -> None:
    """Start a command in its own session, so that it outlives the request (and the worker) that
    started it. It inherits the environment; what it prints goes nowhere, since the scan's row
    says how it ended, and a traceback goes to this server's own stderr."""
    subprocess.Popen(  # noqa: S603  (our own interpreter and manage.py, no shell)
        argv,
        cwd=settings.BASE_DIR,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


def fail_abandoned_scans(*, now=None) -> int:
    """Mark failed the scans queued or running for longer than SCAN_WINDOW: their process died (killed,
    the server restarted) and nothing else would ever finish them. Returns how many."""
    now = now or timezone.now()
    return CookieScan.objects.filter(
        status__in=[CookieScan.QUEUED, CookieScan.RUNNING], created_at__lt=now - SCAN_WINDOW
    ).update(
        status=CookieScan.FAILED,
        finished_at=now,
        error="The scan's process ended without a result (it was killed, or the server restarted).",
    )


def request_scan(*, site: Site, by) -> CookieScan:
    """Queue a scan of the site and start it in the background, once this transaction commits.
    Raises ScanRefused while the site has a scan queued or running, or when this server cannot scan."""
    reason = scanner.browser_available()
    if reason:
        raise ScanRefused(f"The scanner is not installed on this server: {reason}")
    fail_abandoned_scans()
    with transaction.atomic():
        # Lock the site row, so that two requests at once cannot both find no scan under way.
        Site.objects.select_for_update(no_key=True).get(pk=site.pk)
        busy = CookieScan.objects.filter(
            site=site,
            status__in=[CookieScan.QUEUED, CookieScan.RUNNING],
            created_at__gte=timezone.now() - SCAN_WINDOW,
        ).first()
        if busy:
            raise ScanRefused(
                f"A scan of {site} is already {busy.status} (requested at "
                f"{timezone.localtime(busy.created_at):%Y-%m-%d %H:%M})."
            )
        scan = CookieScan.objects.create(site=site, trigger="admin", requested_by=by)
        argv = [sys.executable, "manage.py", "scansite", "--scan", str(scan.pk)]
        transaction.on_commit(lambda: launch(argv))
    return scan


def _declared(pattern: str, categories: list[Category]) -> bool:
    """Whether a category's own patterns already cover this name or pattern."""
    return any(matches_pattern(pattern, own) for category in categories for own in category.cookie_patterns)


def pending_suggestions(scan: CookieScan, categories: list[Category] | None = None) -> list[dict]:
    """The report's suggestions that applying would add: those of a category the site still has
    whose pattern no category of the site covers yet (a cookie is declared in one category)."""
    if categories is None:
        categories = list(Category.objects.filter(site_id=scan.site_id))
    keys = {category.key for category in categories}
    pending, seen = [], set()
    for suggestion in scan.report.get("suggestions") or []:
        pattern = suggestion.get("pattern") or ""
        if suggestion.get("category") not in keys or not pattern or pattern in seen:
            continue
        if not _declared(pattern, categories):
            pending.append(suggestion)
            seen.add(pattern)
    return pending


def apply_suggestions(*, scan: CookieScan, by) -> int:
    """Add each pending suggestion's pattern to its category's cookies, with what the preferences
    dialog says of it (provider, purpose, duration), in one transaction, with one audit entry per
    changed category. Saving the categories clears the site's cached configuration
    (ConsentConfig.ready). Returns how many patterns were added. Raises ScanRefused unless the
    scan has finished."""
    if scan.status != CookieScan.FINISHED:
        raise ScanRefused(f"Only a finished scan's suggestions can be applied; this one is {scan.status}.")
    with transaction.atomic():
        categories = list(Category.objects.select_for_update().filter(site_id=scan.site_id))
        before = {c.pk: (list(c.cookie_patterns), dict(c.cookie_details)) for c in categories}
        by_key = {category.key: category for category in categories}
        added = 0
        for suggestion in pending_suggestions(scan, categories):
            category = by_key[suggestion["category"]]
            pattern = suggestion["pattern"]
            category.cookie_patterns = [*category.cookie_patterns, pattern]
            details = {field: suggestion[field] for field in DETAILS if suggestion.get(field)}
            if details:
                category.cookie_details = {**category.cookie_details, pattern: details}
            added += 1
        for category in categories:
            patterns, details = before[category.pk]
            changes = field_changes(
                {"cookie_patterns": patterns, "cookie_details": details},
                {"cookie_patterns": category.cookie_patterns, "cookie_details": category.cookie_details},
                ["cookie_patterns", "cookie_details"],
            )
            if changes:
                category.save(update_fields=["cookie_patterns", "cookie_details"])
                record_change(
                    site=scan.site, user=by, action="changed", target=f"category {category.key}", changes=changes
                )
    return added


def previous_scan(scan: CookieScan) -> CookieScan | None:
    """The site's last finished scan before this one."""
    earlier = Q(created_at__lt=scan.created_at) | Q(created_at=scan.created_at, pk__lt=scan.pk)
    return (
        CookieScan.objects.filter(earlier, site_id=scan.site_id, status=CookieScan.FINISHED)
        .order_by("-created_at", "-pk")
        .first()
    )


def _compare(now: list[dict], then: list[dict], key) -> tuple[list[dict], list[dict]]:
    """(in `now` only, in `then` only), each item identified by `key`."""
    now_keys, then_keys = {key(item) for item in now}, {key(item) for item in then}
    return [item for item in now if key(item) not in then_keys], [item for item in then if key(item) not in now_keys]


def scan_changes(scan: CookieScan) -> dict:
    """What changed since the site's previous finished scan: {"previous": CookieScan or None,
    "cookies": {"new", "gone"} (by name and domain), "findings": {"new", "resolved"} (by kind,
    cookie and page), "hosts": {"new", "gone"}}, each a list of the reports' own entries. With no
    previous scan, every list is empty."""
    previous = previous_scan(scan)
    then = previous.report if previous else None
    now = scan.report

    def compared(part: str, key) -> tuple[list[dict], list[dict]]:
        if then is None:
            return [], []
        return _compare(now.get(part) or [], then.get(part) or [], key)

    new_cookies, gone_cookies = compared("cookies", lambda c: (c.get("name"), c.get("domain")))
    new_findings, resolved = compared("findings", lambda f: (f.get("kind"), f.get("cookie"), f.get("page")))
    new_hosts, gone_hosts = compared("hosts", lambda h: h.get("host"))
    return {
        "previous": previous,
        "cookies": {"new": new_cookies, "gone": gone_cookies},
        "findings": {"new": new_findings, "resolved": resolved},
        "hosts": {"new": new_hosts, "gone": gone_hosts},
    }
