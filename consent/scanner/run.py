"""Running a stored scan (consent.models.CookieScan) from start to end, as the command, the admin's
"Scan now" and the weekly schedule all do; and which sites the schedule says are due."""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from consent.models import CookieScan, Site
from consent.scanner import browser_available
from consent.scanner.classify import Declarations
from consent.scanner.pages import CannotScan, plan_pages
from consent.scanner.report import build_report
from consent.services.defaults import BANNER_TEXTS

logger = logging.getLogger(__name__)

SCHEDULE_EVERY = timedelta(days=7)


def run_scan(
    scan: CookieScan,
    *,
    urls: list[str] | None = None,
    max_pages: int = 50,
    max_depth: int = 3,
    max_seconds: int = 600,
    concurrency: int = 2,
    respect_robots: bool = True,
    allow_private: bool | None = None,
) -> CookieScan:
    """Scans the scan's site: marks it running, visits the pages, stores the report and marks it
    finished; or failed, with the reason in `error`, when it could not run (no origin, the site
    unreachable, the browser missing). Findings do not fail a scan.

    Private networks (this server's own, a cloud's metadata service) are scanned only from the
    command line, unless CMP_SCANNER_ALLOW_PRIVATE allows them for the admin and the schedule:
    `allow_private` None decides so from the scan's trigger."""
    if allow_private is None:
        allow_private = scan.trigger == "command" or settings.CMP_SCANNER_ALLOW_PRIVATE
    scan.status, scan.started_at, scan.finished_at, scan.error = CookieScan.RUNNING, timezone.now(), None, ""
    scan.save(update_fields=["status", "started_at", "finished_at", "error"])
    site = scan.site
    options = {
        "max_pages": max_pages,
        "max_depth": max_depth,
        "max_seconds": max_seconds,
        "concurrency": concurrency,
        "respect_robots": respect_robots,
        "urls": list(urls or []),
    }
    try:
        missing = browser_available()
        if missing:
            raise CannotScan(missing)
        frontier, unreachable = plan_pages(
            origins=site.origins.values_list("origin", flat=True),
            urls=urls,
            max_pages=max_pages,
            max_depth=max_depth,
            respect_robots=respect_robots,
            allow_private=allow_private,
        )
        # Playwright is imported only now, once it is known to be installed.
        from consent.scanner.browser import scan as scan_pages

        crawl = scan_pages(frontier, widget_of(site), max_seconds=max_seconds, concurrency=concurrency)
    except CannotScan as error:
        return _failed(scan, str(error))
    except Exception as error:
        logger.exception("The cookie scan %s of site %s failed", scan.pk, site.key)
        return _failed(scan, f"The scan stopped on an error: {error}")
    scan.finished_at = timezone.now()
    scan.report = build_report(
        site=site,
        crawl=crawl,
        skipped=frontier.skipped,
        unreachable=unreachable,
        declarations=Declarations.of_site(site),
        options=options,
        started_at=scan.started_at,
        finished_at=scan.finished_at,
    )
    scan.status = CookieScan.FINISHED
    scan.save(update_fields=["status", "finished_at", "report"])
    return scan


def _failed(scan: CookieScan, reason: str) -> CookieScan:
    scan.status, scan.finished_at, scan.error = CookieScan.FAILED, timezone.now(), reason
    scan.save(update_fields=["status", "finished_at", "error"])
    return scan


def widget_of(site: Site):
    """The site's banner as the scanner clicks it: "Accept all" and "Reject all" in each of its
    languages (its own wording first), and its consent API, which the scanner answers itself."""
    from consent.scanner.browser import Widget

    languages = site.language_list() or [site.default_language]
    texts = [{**BANNER_TEXTS.get(lang, BANNER_TEXTS["en"]), **site.banner_texts.get(lang, {})} for lang in languages]
    return Widget(
        accept=tuple(dict.fromkeys(t["acceptAll"] for t in texts)),
        reject=tuple(dict.fromkeys(t["rejectAll"] for t in texts)),
        api=re.compile(rf"/api/v1/sites/{re.escape(site.key)}/(?:consents|impressions)"),
        script=f"/cmp/{site.key}.js",
    )


def due_sites(now=None) -> list[Site]:
    """The sites scanned weekly whose latest scan is a week old, or that have none. A failed scan
    does not count: the next run of the cron job tries again."""
    now = now or timezone.now()
    recent = CookieScan.objects.filter(site=OuterRef("pk"), created_at__gt=now - SCHEDULE_EVERY).exclude(
        status=CookieScan.FAILED
    )
    return list(Site.objects.filter(scan_weekly=True).exclude(Exists(recent)))
