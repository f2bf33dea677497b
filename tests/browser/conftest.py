"""Playwright fixtures: Debian's Chromium, and a customer shop on its own origin (a small HTTP
server) whose page embeds the widget from the live server, as a real site would."""

import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import OperationalError
from playwright.sync_api import expect, sync_playwright

from consent import chromium
from consent.models import ConsentRecord
from tests.factories import make_site

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are
# still plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# expect() retries its assertion until it holds: give a busy CI machine the same 10 s as eventually().
expect.set_options(timeout=10_000)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
NONCE = "s3cr3t-n0nce"
# What a careful site sends: scripts only with the page's nonce (and what they load), no inline styles.
STRICT_CSP = f"script-src 'nonce-{NONCE}' 'strict-dynamic'; style-src 'self'; object-src 'none'; base-uri 'none'"

# Sample trackers: each records that it ran in window.log, so order and count can be checked.
TRACKERS = """
<script type="text/plain" data-category="analytics" nonce="{nonce}">
  log.push('inline-analytics'); window.modeAtRun = dataLayer.filter((a) => !a.event).map((a) => a[0] + ' ' + a[1]);
</script>
<script type="text/plain" data-category="analytics" src="/ext/analytics.js"></script>
<script type="text/plain" data-category="marketing" nonce="{nonce}">log.push('inline-marketing')</script>
<iframe data-category="marketing" data-src="/ext/ad.html" title="Advertisement"></iframe>
<img data-category="marketing" data-src="/ext/pixel.gif" alt="Tracking pixel">
<script type="text/plain" data-category="preferences" nonce="{nonce}">log.push('inline-preferences')</script>
"""

PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop</title>
<script nonce="{nonce}">window.log = [];</script>
<script src="{widget}" async nonce="{nonce}"></script>
</head>
<body>
<main>
<h1>Shop</h1>
<p>Things for sale. <a href="#" id="settings">Cookie settings</a></p>
{trackers}
</main>
<script nonce="{nonce}">
document.getElementById('settings').addEventListener('click', (e) => {{ e.preventDefault(); CMP.showPreferences(); }});
</script>
</body>
</html>
"""

ASSETS = {
    "/ext/analytics.js": ("application/javascript", "log.push('external-analytics');"),
    "/ext/ad.html": ("text/html", "<!doctype html><title>Ad</title><p>Ad</p>"),
    "/ext/pixel.gif": ("image/gif", "GIF89a"),
}


class Shop:
    """The customer's site: serves a page embedding the widget, and its sample trackers; logs hits."""

    def __init__(self):
        self.hits: list[str] = []
        self.csp = STRICT_CSP
        self.lang = "en"
        self.widget_url = ""
        self.site = None
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = urllib.parse.urlsplit(self.path).path
                shop.hits.append(path)
                if path in ASSETS:
                    content_type, body = ASSETS[path]
                    headers = {}
                else:
                    content_type, body = "text/html; charset=utf-8", shop.page()
                    headers = {"Content-Security-Policy": shop.csp} if shop.csp else {}
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        self.url = self.origin + "/shop"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self) -> str:
        return PAGE.format(lang=self.lang, nonce=NONCE, widget=self.widget_url, trackers=TRACKERS.format(nonce=NONCE))

    def tracker_hits(self) -> list[str]:
        return [hit for hit in self.hits if hit.startswith("/ext/")]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium.EXECUTABLE, args=chromium.ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shop(live_server, transactional_db):
    """A site whose one registered origin is the shop's, embedding the widget from the live server."""
    shop = Shop()
    shop.site = make_site(
        name="Shop", origins=(shop.origin,), languages=["en", "de"], policy_url=shop.origin + "/policy"
    )
    shop.api = live_server.url
    shop.widget_url = f"{live_server.url}/cmp/{shop.site.key}.js"
    yield shop
    shop.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    # Any Content-Security-Policy violation on the page is collected, to be asserted absent.
    context.add_init_script(
        "window.cspViolations = []; addEventListener('securitypolicyviolation', (e) =>"
        " cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


def banner(page, title="Your privacy"):
    """The widget's first layer, found as a visitor's screen reader finds it: the dialog named by
    its title. page may be a FrameLocator (the admin's preview). Hidden, it is in no accessibility
    tree and this locator finds nothing, which to_be_hidden() accepts."""
    return page.locator("cmp-banner").get_by_role("dialog", name=title)


def dialog(page, title="Cookie preferences"):
    """The preferences dialog, by its role and its title."""
    return page.locator("cmp-banner").get_by_role("dialog", name=title)


def open_shop(page, shop):
    page.goto(shop.url)
    page.wait_for_function("window.CMP !== undefined")
    return page


def stored_cookie(context, shop) -> dict | None:
    """The cmp_consent cookie, parsed as a site's server would (docs/integration.md)."""
    for cookie in context.cookies(shop.origin):
        if cookie["name"] == "cmp_consent":
            return json.loads(urllib.parse.unquote(cookie["value"]))
    return None


def eventually(read_value, until=bool, *, what, timeout=10.0, page=None):
    """read_value()'s value once until(value) holds, read again and again until then. For what the
    page or the live server reaches a moment after a browser action and no expect() can wait for:
    a row in the database, a cookie in the browser's cookie store. Fails after timeout, saying what
    was awaited and the last value read. Give the page when it has Python route handlers: they
    only run while Playwright is waited on."""
    deadline = time.monotonic() + timeout
    while True:
        value = read_value()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not so after {timeout:g} s; last read: {value!r}")
        if page is None:
            time.sleep(0.05)
        else:
            page.wait_for_timeout(50)


def wait_until(predicate, timeout=20.0, page=None):
    """Polls until predicate() is truthy and returns its value (fails after timeout)."""
    return eventually(predicate, what="the awaited condition", timeout=timeout, page=page)


def wait_for_cookie(context, shop, until=lambda cookie: True, what="the consent cookie", page=None) -> dict:
    """The cmp_consent cookie once there is one and until(cookie) holds. The widget writes it with
    document.cookie; the context's cookie store, which context.cookies() reads, has it a moment later."""
    return eventually(
        lambda: stored_cookie(context, shop),
        lambda cookie: cookie is not None and until(cookie),
        what=what,
        page=page,
    )


def cookie_names(context, shop) -> set[str]:
    return {c["name"] for c in context.cookies(shop.origin)}


def read(query):
    """query()'s result. SQLite's shared in-memory test database refuses a read while the live
    server's thread writes ("table is locked"): read again."""
    for _ in range(100):
        try:
            return query()
        except OperationalError:
            time.sleep(0.05)
    raise AssertionError("the database stayed locked")


def records(consent_id) -> list[ConsentRecord]:
    return read(lambda: list(ConsentRecord.objects.filter(consent_id=consent_id).order_by("id")))


def wait_for_records(consent_id, count=1, page=None) -> list[ConsentRecord]:
    return wait_until(lambda: len(found := records(consent_id)) >= count and found, page=page)
