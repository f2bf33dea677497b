"""Pages scanned per minute by the cookie scanner (docs/scanner.md), over a generated local site.

    .venv/bin/python bench/scanner.py [--pages 50] [--concurrency 2]

What it does, in one run:
  1. migrates a throwaway SQLite database and creates a site whose origin is a local HTTP server
     on 127.0.0.1 (tests/scan_sites.py), serving the widget itself;
  2. serves `--pages` generated pages, listed in sitemap.xml and linking to each other, each with
     the banner; every third page loads a tracker that ignores the banner, every page an analytics
     script that waits for consent, every fifth a marketing iframe on tracker.localhost;
  3. runs run_scan() over it (what `manage.py scansite` runs: three passes per page, each in a
     fresh browser context) and prints the pages, the seconds, and pages per minute.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from project import setup_django  # bench/project.py

ROOT = Path(__file__).resolve().parent.parent


def serve_site(server, site_key: str, pages: int):
    """Fills the local server's routes (the widget, the pages, their scripts, robots.txt, the
    sitemap) and returns the third party's server."""
    from consent.widget.views import render_widget
    from tests.scan_sites import Answer, LocalServer, javascript, page

    tracker = LocalServer()
    tracker.routes["/frame"] = Answer(
        "<!doctype html><title>Ad</title>", headers=(("Set-Cookie", "IDE=x; Path=/; SameSite=None; Secure"),)
    )
    tracker_frame = f"http://tracker.localhost:{tracker.port}/frame"
    widget_url = f"/cmp/{site_key}.js"
    server.routes[widget_url] = javascript(render_widget(site_key, server.origin)["identity"].decode())
    server.routes["/js/tracker.js"] = javascript("document.cookie = '_ga=GA1.1.1.1; path=/; max-age=600';")
    server.routes["/js/analytics.js"] = javascript("document.cookie = '_clck=1; path=/; max-age=600';")
    server.routes["/robots.txt"] = Answer(
        f"User-agent: *\nAllow: /\nSitemap: {server.origin}/sitemap.xml\n", "text/plain"
    )
    urls = ["/"] + [f"/page/{number}" for number in range(1, pages)]
    for number, path in enumerate(urls):
        links = " ".join(f'<a href="{urls[(number + step) % pages]}">Page {step}</a>' for step in (1, 2, 7))
        body = f"<p>Page {number} of the benchmark shop. {links}</p>"
        body += '<script type="text/plain" data-category="analytics" src="/js/analytics.js"></script>'
        if number % 3 == 0:
            body += '<script src="/js/tracker.js"></script>'
        if number % 5 == 0:
            body += f'<iframe data-category="marketing" data-src="{tracker_frame}" title="Ad"></iframe>'
        server.routes[path] = Answer(page(f"Page {number}", body, widget_url))
    locs = "".join(f"<url><loc>{server.origin}{path}</loc></url>" for path in urls)
    server.routes["/sitemap.xml"] = Answer(f"<urlset>{locs}</urlset>", "application/xml")
    return tracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cmp-bench-scan-") as directory:
        setup_django(f"sqlite:///{directory}/bench.sqlite3", migrate=True)
        from consent.models import CookieScan
        from consent.scanner.run import run_scan
        from consent.services.sites import create_site
        from tests.scan_sites import LocalServer

        server = LocalServer()
        site = create_site(name="Benchmark shop", origins=[server.origin])
        tracker = serve_site(server, site.key, args.pages)
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        scan = run_scan(
            CookieScan.objects.create(site=site),
            max_pages=args.pages,
            max_seconds=3600,
            concurrency=args.concurrency,
        )
        seconds = time.monotonic() - started
        if scan.status != CookieScan.FINISHED:
            sys.exit(f"The scan failed: {scan.error}")
        summary = scan.report["summary"]
        print(
            f"cores: {os.cpu_count()}, load average (1 min) before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f}"
        )
        print(f"concurrency: {args.concurrency}, passes per page: 3")
        print(
            f"pages: {summary['pages']}, cookies: {summary['cookies']}, violations: {summary['violations']}, "
            f"third-party hosts: {summary['third_party_hosts']}"
        )
        print(f"seconds: {seconds:.1f}")
        print(f"pages per minute: {summary['pages'] / seconds * 60:.1f}")
        server.close()
        tracker.close()


if __name__ == "__main__":
    main()
