"""Local sites for the cookie scanner's tests and benchmark: small HTTP servers on 127.0.0.1, each
on a free port. Chromium resolves any `*.localhost` name to the loopback address, so a server
reached as `tracker.localhost:PORT` is another site to the browser (cookies are per host, not per
port), a real third party."""

import contextlib
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    body: str
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


class LocalServer:
    """Answers GETs from `routes` (path: Answer), 404 otherwise, and keeps the paths it was asked for."""

    def __init__(self):
        self.routes: dict[str, Answer] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = urllib.parse.urlsplit(self.path).path
                server.hits.append(path)
                answer = server.routes.get(path, Answer("Not found", "text/plain", 404))
                data = answer.body.encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.end_headers()
                # The browser may drop a request it no longer needs (the page reloaded): not an error.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def page(title: str, body: str, widget_url: str = "") -> str:
    widget = f'<script src="{widget_url}" async></script>' if widget_url else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{widget}</head>'
        f"<body><main><h1>{title}</h1>{body}</main></body></html>"
    )


def javascript(source: str) -> Answer:
    return Answer(source, "application/javascript")


# A tracker that ignores the banner: it sets Google Analytics' _ga (and a sessionStorage key) as
# soon as it loads, before any decision.
TRACKER = "document.cookie = '_ga=GA1.1.42.1700000000; path=/; max-age=63072000'; sessionStorage.setItem('trk', '1');"
# An analytics script that obeys the banner: the page blocks it (type="text/plain") until analytics
# is allowed. It sets Microsoft Clarity's _clck, which the site does not declare.
ANALYTICS = "document.cookie = '_clck=abc; path=/; max-age=31536000'; localStorage.setItem('clarity', '1');"


class ScanSites:
    """The site the scanner's tests scan, and its third party:

    - `/` sets an HttpOnly session cookie (Set-Cookie), loads a tracker that sets _ga before any
      decision, an analytics script and an inline preferences script that wait for consent, and a
      marketing iframe on `tracker.localhost` (blocked until consent) that sets DoubleClick's IDE;
      it links to /about, to /private/ (which robots.txt disallows), to a PDF and off the site;
    - `/about` has the banner and nothing else; `/no-banner` (linked from /about) has no banner;
    - `/from-sitemap` is linked from nowhere, only listed in sitemap.xml.
    """

    def __init__(self):
        self.site = LocalServer()
        self.tracker = LocalServer()
        self.origin = self.site.origin
        self.tracker_origin = f"http://tracker.localhost:{self.tracker.port}"

    def serve(self, widget_url: str) -> None:
        """Serves the pages, each embedding the widget from `widget_url` (but /no-banner)."""
        origin = self.origin
        self.tracker.routes["/frame"] = Answer(
            "<!doctype html><title>Ad</title><p>Ad</p>",
            headers=(("Set-Cookie", "IDE=AHWqTUk; Path=/; Max-Age=63072000; SameSite=None; Secure"),),
        )
        home = page(
            "Shop",
            '<p><a href="/about">About</a> <a href="/private/orders">Orders</a> <a href="/terms.pdf">Terms</a> '
            '<a href="http://elsewhere.localhost/">Elsewhere</a></p>'
            '<script src="/js/tracker.js"></script>'
            '<script type="text/plain" data-category="analytics" src="/js/analytics.js"></script>'
            '<script type="text/plain" data-category="preferences">document.cookie = "theme=dark; path=/";</script>'
            f'<iframe data-category="marketing" data-src="{self.tracker_origin}/frame" title="Ad"></iframe>',
            widget_url,
        )
        self.site.routes.update(
            {
                "/": Answer(home, headers=(("Set-Cookie", "sessionid=s3ss10n; Path=/; HttpOnly; SameSite=Lax"),)),
                "/about": Answer(
                    page("About", '<p><a href="/">Home</a> <a href="/no-banner">Plain</a></p>', widget_url)
                ),
                "/no-banner": Answer(page("Plain", "<p>No banner here.</p>")),
                "/from-sitemap": Answer(page("Sitemap only", "<p>Listed in the sitemap.</p>", widget_url)),
                "/private/orders": Answer(page("Orders", "<p>Private.</p>", widget_url)),
                "/js/tracker.js": javascript(TRACKER),
                "/js/analytics.js": javascript(ANALYTICS),
                "/robots.txt": Answer(
                    f"User-agent: *\nDisallow: /private/\nSitemap: {origin}/sitemap.xml\n", "text/plain"
                ),
                "/sitemap.xml": Answer(
                    '<?xml version="1.0" encoding="UTF-8"?>'
                    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<url><loc>{origin}/</loc></url><url><loc>{origin}/from-sitemap</loc></url></urlset>",
                    "application/xml",
                ),
            }
        )

    def url(self, path: str) -> str:
        return self.site.origin + path

    def close(self):
        self.site.close()
        self.tracker.close()
