"""How much a page downloads before the consent banner shows, and how soon it shows: our widget
against the open-source banners from npm, all served from one local HTTP server on 127.0.0.1 and
measured in headless Chromium (Debian's).

    .venv/bin/python bench/widget.py [--runs 7] [--port 8200]

Bytes: every script, stylesheet and fetch the page requested before the banner was visible (JS +
CSS + config), each compressed with gzip -9. Time: from navigation start to the first animation
frame in which the banner is displayed, median of the runs, each in a fresh browser context.
"""

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from project import setup_django  # bench/project.py

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "vanilla-cookieconsent": "3.1.0",
    "klaro": "0.7.22",
    "tarteaucitronjs": "1.34.0",
    "cookieconsent": "3.1.1",
}
TITLE = "Your privacy"
TEXT = "We use cookies for the site to work and, with your permission, for statistics and marketing."


def with_config(script: str, config: dict) -> str:
    return script.replace("CONFIG", json.dumps(config))


# Each banner: what the page's <head> loads, its configuration (served as a file, so counted),
# and a JS expression for the banner element once it exists.
BANNERS = {
    "ours": {
        "head": '<script src="/ours/cmp.js" async></script>',
        "element": "document.querySelector('cmp-banner')?.shadowRoot?.querySelector('.banner:not([hidden])')",
    },
    "vanilla-cookieconsent": {
        "head": (
            '<link rel="stylesheet" href="/node_modules/vanilla-cookieconsent/dist/cookieconsent.css">'
            '<script src="/node_modules/vanilla-cookieconsent/dist/cookieconsent.umd.js" defer></script>'
            '<script src="/configs/vanilla-cookieconsent.js" defer></script>'
        ),
        "config": with_config(
            "CookieConsent.run(CONFIG);",
            {
                "hideFromBots": False,  # it would stay hidden from the automated browser
                "categories": {"necessary": {"enabled": True, "readOnly": True}, "analytics": {}, "marketing": {}},
                "language": {
                    "default": "en",
                    "translations": {
                        "en": {
                            "consentModal": {
                                "title": TITLE,
                                "description": TEXT,
                                "acceptAllBtn": "Accept all",
                                "acceptNecessaryBtn": "Reject all",
                                "showPreferencesBtn": "Customize",
                            },
                            "preferencesModal": {
                                "title": "Cookie preferences",
                                "acceptAllBtn": "Accept all",
                                "acceptNecessaryBtn": "Reject all",
                                "savePreferencesBtn": "Save choices",
                                "closeIconLabel": "Close",
                                "sections": [
                                    {"title": "Strictly necessary", "linkedCategory": "necessary"},
                                    {"title": "Analytics", "linkedCategory": "analytics"},
                                    {"title": "Marketing", "linkedCategory": "marketing"},
                                ],
                            },
                        }
                    },
                },
            },
        ),
        "element": "document.querySelector('#cc-main .cm')",
    },
    "klaro": {
        "head": (
            '<script src="/configs/klaro.js" defer></script>'
            '<script src="/node_modules/klaro/dist/klaro.js" defer></script>'
        ),
        "config": with_config(
            "window.klaroConfig = CONFIG;",
            {
                "version": 1,
                "elementID": "klaro",
                "lang": "en",
                "acceptAll": True,
                "translations": {
                    "en": {
                        "consentNotice": {"description": TEXT},
                        "purposes": {"analytics": "Analytics", "marketing": "Marketing"},
                    }
                },
                "services": [
                    {"name": "analytics", "title": "Analytics", "purposes": ["analytics"]},
                    {"name": "ads", "title": "Ads", "purposes": ["marketing"]},
                ],
            },
        ),
        "element": "document.querySelector('.klaro .cookie-notice, .klaro .cookie-modal')",
    },
    "tarteaucitronjs": {
        "head": (
            '<script src="/configs/tarteaucitronjs-pre.js"></script>'
            '<script src="/node_modules/tarteaucitronjs/tarteaucitron.min.js"></script>'
            '<script src="/configs/tarteaucitronjs.js"></script>'
        ),
        "pre": "var tarteaucitronUseMin = true; var tarteaucitronForceLanguage = 'en';",
        "config": with_config(
            "tarteaucitron.init(CONFIG); tarteaucitron.user.gtagUa = 'G-BENCH';"
            " (tarteaucitron.job = tarteaucitron.job || []).push('gtag');",
            {
                "privacyUrl": "/policy",
                "hashtag": "#tarteaucitron",
                "cookieName": "tarteaucitron",
                "orientation": "bottom",
                "showAlertSmall": False,
                "cookieslist": False,
                "showIcon": False,
                "highPrivacy": True,
                "AcceptAllCta": True,
                "DenyAllCta": True,
                "handleBrowserDNTRequest": False,
                "removeCredit": True,
                "moreInfoLink": False,
                "useExternalCss": False,
                "mandatory": True,
            },
        ),
        "element": "document.getElementById('tarteaucitronAlertBig')",
    },
    "cookieconsent": {
        "head": (
            '<link rel="stylesheet" href="/node_modules/cookieconsent/build/cookieconsent.min.css">'
            '<script src="/node_modules/cookieconsent/build/cookieconsent.min.js" defer></script>'
            '<script src="/configs/cookieconsent.js" defer></script>'
        ),
        "config": with_config(
            "window.cookieconsent.initialise(CONFIG);",
            {
                "type": "opt-in",
                "content": {"message": TEXT, "allow": "Accept all", "deny": "Reject all", "link": "Cookie policy"},
            },
        ),
        "element": "document.querySelector('.cc-window')",
    },
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Shop</title>{head}</head>
<body><main><h1>Shop</h1><p>Things for sale.</p></main></body></html>
"""

# Runs in the page before anything else: notes the first frame in which the banner is displayed.
WATCH = """(() => {
  window.__shown = null;
  const check = () => {
    const el = %s;
    if (el && el.checkVisibility()) window.__shown = performance.now();
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();"""


def install(folder: Path) -> None:
    (folder / "package.json").write_text('{"private": true}')
    specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--silent", "--ignore-scripts", *specs], cwd=folder, check=True
    )


def build_ours(folder: Path, origin: str) -> None:
    """Our widget exactly as the server renders it, for a one-language site made by the real services."""
    setup_django(f"sqlite:///{folder / 'bench.sqlite3'}", migrate=True)
    from consent.services.config import banner_config
    from consent.services.sites import create_site
    from consent.widget.views import widget_source

    site = create_site(name="Bench shop", origins=[origin], policy_url=origin + "/policy")
    (folder / "ours").mkdir(exist_ok=True)
    (folder / "ours" / "cmp.js").write_text(widget_source({**banner_config(site.key), "api": origin}))


def write_pages(folder: Path) -> None:
    (folder / "configs").mkdir(exist_ok=True)
    for name, banner in BANNERS.items():
        (folder / f"{name}.html").write_text(PAGE.format(head=banner["head"]))
        if "config" in banner:
            (folder / "configs" / f"{name}.js").write_text(banner["config"])
        if "pre" in banner:
            (folder / "configs" / f"{name}-pre.js").write_text(banner["pre"])


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def serve(folder: Path, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def gzip9(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def load_once(browser, folder: Path, origin: str, name: str) -> tuple[float, list[str], int]:
    """One visit in a fresh context: ms to banner visible, the files fetched, their gzip -9 bytes."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(WATCH % BANNERS[name]["element"])
    page = context.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request))
    page.goto(f"{origin}/{name}.html", wait_until="commit")
    page.wait_for_function("window.__shown !== null", timeout=15000)
    shown = page.evaluate("window.__shown")
    kinds = ("script", "stylesheet", "fetch", "xhr")
    paths = {
        urlsplit(r.url).path
        for r in requested
        if r.method == "GET" and r.resource_type in kinds and r.url.startswith(origin)
    }
    files = sorted(p for p in paths if (folder / p.lstrip("/")).is_file())
    context.close()
    return shown, files, sum(gzip9(folder / p.lstrip("/")) for p in files)


def measure(browser, folder: Path, origin: str, runs: int) -> dict:
    """Every banner once per round, so that a busy moment of the machine hits them all alike; the
    first round warms up the browser and the server and is not counted."""
    results = {name: {"times": []} for name in BANNERS}
    for round_ in range(runs + 1):
        for name in BANNERS:
            shown, files, size = load_once(browser, folder, origin, name)
            if round_:
                results[name]["times"].append(shown)
            results[name].update(files=files, bytes=size)
    for result in results.values():
        result["median_ms"] = statistics.median(result["times"])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--port", type=int, default=8200, help="in the widget's range 8200-8299")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="cmp-bench-") as tmp:
        folder = Path(tmp)
        origin = f"http://127.0.0.1:{args.port}"
        install(folder)
        build_ours(folder, origin)
        write_pages(folder)
        server = serve(folder, args.port)
        try:
            with sync_playwright() as playwright:
                from consent import chromium  # the project is on sys.path from here on

                browser = playwright.chromium.launch(executable_path=chromium.EXECUTABLE, args=chromium.ARGS)
                results = measure(browser, folder, origin, args.runs)
                browser.close()
        finally:
            server.shutdown()
            server.server_close()

    versions = {"ours": "this repo", **PACKAGES}
    print(f"\n{args.runs} runs each, headless Chromium, served from {origin}\n")
    print("| banner | version | gzip -9 bytes before the banner | files | median ms to banner visible | range ms |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for name, result in sorted(results.items(), key=lambda item: item[1]["bytes"]):
        low, high = min(result["times"]), max(result["times"])
        print(
            f"| {name} | {versions[name]} | {result['bytes']:,} | {len(result['files'])} | "
            f"{result['median_ms']:.0f} | {low:.0f}-{high:.0f} |"
        )
    for name, result in results.items():
        print(f"{name}: " + ", ".join(result["files"]), file=sys.stderr)


if __name__ == "__main__":
    main()
