"""The three passes over each page, in headless Chromium (Debian's, consent/chromium.py), each in a
fresh browser context: before any decision, after "Reject all" and after "Accept all", clicked on
the site's own banner. Each pass records the browser's whole cookie store (HttpOnly and
third-party cookies included), the storage keys of every frame, the hosts contacted, and who set
each cookie: the response whose Set-Cookie header did, or the script whose document.cookie write
did (an init script wraps the setter and sends `new Error().stack` back).

Playwright's async API runs in a thread of its own (`scan`), so that callers, Django's ORM among
them, stay synchronous. Imported only when a scan runs (consent.scanner.run).
"""

import asyncio
import contextlib
import json
import logging
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from consent import chromium
from consent.scanner import PASSES
from consent.scanner.pages import Frontier, Target

logger = logging.getLogger(__name__)

NAVIGATION_TIMEOUT = 30.0
# How long a page may keep loading after its load event: the wait for the network to go quiet
# (500 ms without a request) ends after this, so that a page that polls cannot hold a scan.
SETTLE_TIMEOUT = 5.0
# How long the banner may take to show before a page is said to have none.
WIDGET_TIMEOUT = 10.0
# Chromium's preferences for the scan's profile: third-party cookies allowed, as Chrome allows them
# by default. The fresh contexts of each pass are incognito ones, which would otherwise block them.
PREFERENCES = {"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}}
BINDING = "__cmpScanCookieWrite"
# Wraps document.cookie's setter (and the Cookie Store API's set) to tell the scanner who wrote a
# cookie: the stack's first frame after this script is the writer.
INSTRUMENT = """
(() => {
  const tell = (name, stack) => {
    try { window.__BINDING__(String(name), stack || '').catch(() => {}); } catch (error) {}
  };
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  if (cookie && cookie.set) {
    Object.defineProperty(Document.prototype, 'cookie', {
      configurable: true,
      enumerable: cookie.enumerable,
      get() { return cookie.get.call(this); },
      set(value) {
        tell(String(value).split(';')[0].split('=')[0].trim(), new Error().stack);
        return cookie.set.call(this, value);
      },
    });
  }
  if (window.CookieStore && CookieStore.prototype.set) {
    const set = CookieStore.prototype.set;
    CookieStore.prototype.set = function (name, ...rest) {
      tell(typeof name === 'string' ? name : name && name.name, new Error().stack);
      return set.call(this, name, ...rest);
    };
  }
})();
""".replace("__BINDING__", BINDING)
STORAGE = """() => {
  const keys = (name) => { try { return Object.keys(window[name]); } catch (error) { return []; } };
  return { origin: location.origin, local: keys('localStorage'), session: keys('sessionStorage') };
}"""
HAS_WIDGET = """(script) => !!document.querySelector('cmp-banner')
  || [...document.scripts].some((element) => element.src.includes(script))"""
STACK_URL = re.compile(r"(https?://[^\s()]+?):\d+:\d+")


@dataclass(frozen=True)
class Widget:
    """What the scanner needs of the site's banner: its buttons' labels in each of the site's
    languages, and where its calls to the consent API go. The scanner answers those calls itself,
    so that its decisions are neither recorded nor counted in the site's figures."""

    accept: tuple[str, ...]
    reject: tuple[str, ...]
    api: re.Pattern
    # Where the page loads the widget from: /cmp/<site key>.js.
    script: str


@dataclass(frozen=True)
class Setter:
    """Who set a cookie: a response's Set-Cookie header, or a script writing document.cookie."""

    name: str
    host: str
    source: str


@dataclass
class PassResult:
    name: str
    status: int | None = None
    error: str = ""
    # Before: whether the page has the banner or loads its script (a page that does neither is not
    # asked to decide). After: whether the banner's button was found and clicked.
    widget: bool = False
    decided: bool = False
    cookies: list[dict] = field(default_factory=list)
    storage: list[dict] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)
    setters: list[Setter] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


@dataclass
class PageResult:
    url: str
    depth: int
    passes: dict[str, PassResult] = field(default_factory=dict)

    @property
    def before(self) -> PassResult:
        return self.passes["before"]


@dataclass
class Crawl:
    pages: list[PageResult]
    # Why the scan stopped before it had visited every page it found ("" when it did not).
    stopped: str = ""


def scan(frontier: Frontier, widget: Widget, *, max_seconds: float, concurrency: int) -> Crawl:
    """Scans the frontier's pages, and those their links lead to, `concurrency` at a time; starts
    no new page after `max_seconds`. Runs the browser in a thread of its own."""
    if not frontier.accepted:
        return Crawl([])
    deadline = time.monotonic() + max_seconds
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cookie-scan") as pool:
        return pool.submit(
            asyncio.run, crawl(frontier, widget, deadline=deadline, concurrency=max(1, concurrency))
        ).result()


async def crawl(frontier: Frontier, widget: Widget, *, deadline: float, concurrency: int) -> Crawl:
    queue: asyncio.Queue[Target] = asyncio.Queue()
    for target in frontier.accepted:
        queue.put_nowait(target)
    results: dict[str, PageResult] = {}
    stopped = ""

    async with async_playwright() as playwright:
        with tempfile.TemporaryDirectory(prefix="cmp-scan-") as profile:
            (Path(profile) / "Default").mkdir()
            (Path(profile) / "Default" / "Preferences").write_text(json.dumps(PREFERENCES))
            persistent = await playwright.chromium.launch_persistent_context(
                profile, executable_path=chromium.EXECUTABLE, args=chromium.ARGS, headless=True
            )
            try:
                browser = persistent.browser
                first = persistent.pages[0] if persistent.pages else await persistent.new_page()
                # What a visitor's Chrome says: some sites keep their trackers from headless browsers.
                user_agent = (await first.evaluate("navigator.userAgent")).replace("HeadlessChrome", "Chrome")

                async def work():
                    nonlocal stopped
                    while True:
                        target = await queue.get()
                        try:
                            if time.monotonic() >= deadline:
                                stopped = "the time budget ran out"
                                frontier.skipped.append({"url": target.url, "reason": "the time budget ran out"})
                                continue
                            page = await scan_page(browser, target, widget, user_agent)
                            results[target.url] = page
                            for link in page.before.links:
                                found = frontier.offer(link, target.depth + 1)
                                if found:
                                    queue.put_nowait(found)
                        finally:
                            queue.task_done()

                workers = [asyncio.create_task(work()) for _ in range(concurrency)]
                await queue.join()
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
            finally:
                await persistent.close()
    pages = [results[target.url] for target in frontier.accepted if target.url in results]
    if not stopped and frontier.budget_reached:
        stopped = "the page budget was reached"
    return Crawl(pages, stopped)


async def scan_page(browser: Browser, target: Target, widget: Widget, user_agent: str) -> PageResult:
    """The page's three passes. Without a loaded page there is nothing to decide on, and without a
    banner no decision to take: the passes after it are left out."""
    page = PageResult(target.url, target.depth)
    for name in PASSES:
        try:
            result = await take_pass(browser, target.url, name, widget, user_agent)
        except Exception as error:  # a page must not end the scan: it is reported, and the scan goes on
            logger.exception("Scanning %s (%s) failed", target.url, name)
            result = PassResult(name, error=f"The scanner failed on this page: {error}")
        page.passes[name] = result
        if result.error or not (result.decided if name != "before" else result.widget):
            break
    return page


async def take_pass(browser: Browser, url: str, name: str, widget: Widget, user_agent: str) -> PassResult:
    result = PassResult(name)
    context = await browser.new_context(user_agent=user_agent)
    reading: list[asyncio.Future] = []
    try:
        await context.expose_binding(
            BINDING,
            lambda source, cookie, stack: result.setters.append(script_setter(cookie, stack, source["frame"].url)),
        )
        await context.add_init_script(INSTRUMENT)
        await context.route(widget.api, answer_consent_api)
        context.on("request", lambda request: result.hosts.add(urlsplit(request.url).hostname or ""))
        context.on("response", lambda response: reading.append(asyncio.create_task(read_set_cookie(response, result))))
        page = await context.new_page()
        try:
            response = await page.goto(url, wait_until="load", timeout=NAVIGATION_TIMEOUT * 1000)
        except PlaywrightError as error:
            result.error = str(error).splitlines()[0]
            return result
        result.status = response.status if response else None
        if result.status and result.status >= 400:
            result.error = f"The page answered HTTP {result.status}."
            return result
        await settle(page)
        if name == "before":
            result.links = await page.eval_on_selector_all("a[href], area[href]", "links => links.map((a) => a.href)")
            result.widget = await page.evaluate(HAS_WIDGET, widget.script)
        else:
            result.decided = await decide(page, widget.accept if name == "accepted" else widget.reject)
            if result.decided:
                try:
                    await page.reload(wait_until="load", timeout=NAVIGATION_TIMEOUT * 1000)
                except PlaywrightError as error:
                    result.error = str(error).splitlines()[0]
                    return result
                await settle(page)
        result.storage = await read_storage(page)
        while reading:
            batch = reading[:]
            reading.clear()
            await asyncio.gather(*batch, return_exceptions=True)
        result.cookies = await context.cookies()
    finally:
        await close(context)
    return result


async def close(context: BrowserContext) -> None:
    try:
        await context.close()
    except PlaywrightError:
        logger.warning("A scan's browser context did not close cleanly", exc_info=True)


async def settle(page: Page) -> None:
    """Waits for the network to go quiet, at most SETTLE_TIMEOUT."""
    with contextlib.suppress(PlaywrightError):
        await page.wait_for_load_state("networkidle", timeout=SETTLE_TIMEOUT * 1000)


async def decide(page: Page, labels: tuple[str, ...]) -> bool:
    """Clicks the banner's button with one of these labels, as a visitor would; False when no
    banner shows one within WIDGET_TIMEOUT."""
    name = re.compile("^(?:" + "|".join(re.escape(label) for label in labels) + ")$")
    button = page.locator("cmp-banner").get_by_role("button", name=name).first
    try:
        await button.click(timeout=WIDGET_TIMEOUT * 1000)
        # The decision is stored as the banner closes.
        await button.wait_for(state="hidden", timeout=WIDGET_TIMEOUT * 1000)
    except PlaywrightError:
        return False
    return True


async def answer_consent_api(route: Route) -> None:
    """The widget's decisions and impressions, answered as the server would, but not sent to it."""
    if route.request.method == "POST":
        await route.fulfill(status=201, json={}, headers={"Access-Control-Allow-Origin": "*"})
    else:
        await route.continue_()


async def read_set_cookie(response, result: PassResult) -> None:
    """Records the cookies a response's Set-Cookie headers set (HttpOnly ones included)."""
    try:
        headers = await response.headers_array()
    except PlaywrightError:
        return
    host = urlsplit(response.url).hostname or ""
    source, _ = urldefrag(response.url)
    for header in headers:
        if header["name"].lower() != "set-cookie":
            continue
        for line in header["value"].split("\n"):
            name = line.split(";")[0].split("=")[0].strip()
            if name:
                result.setters.append(Setter(name, host, source))


def script_setter(name: str, stack: str, frame_url: str) -> Setter:
    """Who wrote document.cookie: the script at the top of the stack (below the wrapped setter). An
    inline script of the page is named by the page; one inserted by a script (a tag manager, or the
    banner unblocking it) has no URL of its own, and is named with the script that inserted it."""
    document, _ = urldefrag(frame_url)
    frames = [line.strip() for line in stack.splitlines() if line.strip().startswith("at ")][1:]
    urls = [found.group(1) if (found := STACK_URL.search(line)) else "" for line in frames]
    source = urls[0] if urls else ""
    if source and urldefrag(source)[0] == document:
        source = f"{document} (inline script)"
    elif frames and not source:
        inserter = next((url for url in urls if url), "")
        source = f"{document} (inline script, inserted by {inserter})" if inserter else f"{document} (inline script)"
    return Setter(name, urlsplit(frame_url).hostname or "", source)


async def read_storage(page: Page) -> list[dict]:
    """The localStorage and sessionStorage keys of every frame: [{"kind", "key", "origin"}]."""
    found = []
    for frame in page.frames:
        try:
            storage = await frame.evaluate(STORAGE)
        except PlaywrightError:
            continue
        if storage["origin"] in ("null", ""):
            continue
        for kind in ("local", "session"):
            found.extend({"kind": kind, "key": key, "origin": storage["origin"]} for key in storage[kind])
    return found
