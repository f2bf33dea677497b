import json

from django.core.management.base import BaseCommand, CommandError

from consent.models import CookieScan, Site
from consent.scanner.report import text_summary
from consent.scanner.run import due_sites, run_scan
from consent.services.scans import fail_abandoned_scans

# The exit status of a scan that could not run (one that ran exits 0, whatever it found).
COULD_NOT_RUN = 2
MINIMUM = {"max_pages": 1, "max_depth": 0, "max_seconds": 1, "concurrency": 1}


class Command(BaseCommand):
    help = (
        "Scan a site's pages in headless Chromium for the cookies, storage and third-party hosts they use "
        "before any decision, after 'Reject all' and after 'Accept all', and store the report "
        "(docs/scanner.md). Exit 0 when the scan ran, whatever it found; 2 when it could not run."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--site", help="The site key: scan it now")
        which.add_argument("--scan", type=int, help="Run this queued scan (the admin's 'Scan now' starts it so)")
        which.add_argument("--due", action="store_true", help="Scan every weekly site not scanned for 7 days (cron)")
        parser.add_argument(
            "--url", action="append", dest="urls", metavar="URL", help="Scan only this page (repeatable)"
        )
        parser.add_argument("--max-pages", type=int, default=50, help="Pages scanned at most (default 50)")
        parser.add_argument("--max-depth", type=int, default=3, help="Links followed from a start page (default 3)")
        parser.add_argument("--max-seconds", type=int, default=600, help="No new page after this (default 600)")
        parser.add_argument("--concurrency", type=int, default=2, help="Pages scanned at once (default 2)")
        parser.add_argument("--ignore-robots", action="store_true", help="Scan pages robots.txt disallows")
        parser.add_argument("--json", action="store_true", help="Print the whole report as JSON")

    def handle(self, *args, site, scan, due, urls, ignore_robots, **options):
        as_json = options["json"]
        limits = {name: options[name] for name in MINIMUM}
        for name, least in MINIMUM.items():
            if limits[name] < least:
                raise CommandError(f"--{name.replace('_', '-')} must be at least {least}.", returncode=COULD_NOT_RUN)
        scan_options = {**limits, "urls": urls, "respect_robots": not ignore_robots}
        if due:
            fail_abandoned_scans()
            return self.scan_due(scan_options, as_json=as_json)
        if scan is not None:
            found = CookieScan.objects.filter(pk=scan).select_related("site").first()
            if found is None:
                raise CommandError(f"No scan has the id {scan}.", returncode=COULD_NOT_RUN)
            if found.status != CookieScan.QUEUED:
                raise CommandError(f"Scan {scan} is {found.status}, not queued.", returncode=COULD_NOT_RUN)
        else:
            target = Site.objects.filter(key=site).first()
            if target is None:
                raise CommandError(f"No site has the key {site!r}.", returncode=COULD_NOT_RUN)
            found = CookieScan.objects.create(site=target, trigger="command")
        done = run_scan(found, **scan_options)
        if done.status == CookieScan.FAILED:
            raise CommandError(f"The scan could not run: {done.error}", returncode=COULD_NOT_RUN)
        self.show(done, as_json=as_json)

    def scan_due(self, scan_options: dict, *, as_json: bool) -> None:
        """Each due site in turn; with --json, their reports as one list."""
        # Queued at once, so that a run started meanwhile (or "Scan now") finds them under way.
        queued = [CookieScan.objects.create(site=site, trigger="schedule") for site in due_sites()]
        failed, reports = [], []
        for scan in queued:
            done = run_scan(scan, **scan_options)
            if done.status == CookieScan.FAILED:
                failed.append(f"{done.site} ({done.site.key}): {done.error}")
            elif as_json:
                reports.append(done.report)
            else:
                self.show(done, as_json=False)
        if as_json:
            self.stdout.write(json.dumps(reports, indent=2, ensure_ascii=False))
        elif not queued:
            self.stdout.write("No site is due for a scan.")
        if failed:
            raise CommandError("Some scans could not run:\n" + "\n".join(failed), returncode=COULD_NOT_RUN)

    def show(self, done: CookieScan, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(done.report, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(text_summary(done.report, done.site.name))
            self.stdout.write(f"Stored as scan {done.pk}.")
