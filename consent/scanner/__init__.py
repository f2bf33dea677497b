"""The cookie scanner: drives a headless Chromium over a site's pages and reports what they set
before any decision, after "Reject all" and after "Accept all" (docs/scanner.md).

One module per job: `pages` finds the pages (origins, sitemap, links, robots.txt), `browser` takes
the three passes, `classify` says what each cookie is, `findings` what the operator should act on,
`report` puts it together, `run` runs a stored scan (consent.models.CookieScan).

The browser is an optional extra (requirements-scanner.txt and Debian's chromium): nothing here
imports Playwright until a scan runs, so that servers that do not scan need neither.
"""

import importlib.util
import os

from consent import chromium

# A page's passes, in the order they are taken, each in a fresh browser context.
PASSES = ("before", "rejected", "accepted")
INSTALL = "pip install -r requirements-scanner.txt and apt-get install chromium"


def browser_available() -> str | None:
    """None when a scan can launch the browser; else, in a sentence, why not and what to install."""
    if importlib.util.find_spec("playwright") is None:
        return f"Playwright is not installed. Install the scanner: {INSTALL}."
    if not os.access(chromium.EXECUTABLE, os.X_OK):
        return f"Chromium is not installed at {chromium.EXECUTABLE}. Install the scanner: {INSTALL}."
    return None
