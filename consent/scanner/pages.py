"""Which pages a scan visits: the site's origins (or the operator's list of URLs), the sitemap,
and the links the pages hold, same-site only, within a page budget and a depth, as robots.txt
allows. The browser (consent.scanner.browser) hands back each page's links; the frontier decides.

robots.txt and the sitemap are read here with urllib, as the scanner's user agent `AGENT`; reading
robots.txt is also how a scan finds out, before it launches a browser, that a site is unreachable.
"""

import html
import ipaddress
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

# The name robots.txt rules address the scanner by ("User-agent: cmp-cookie-scanner"); rules for
# "*" apply too.
AGENT = "cmp-cookie-scanner"
FETCH_TIMEOUT = 10
MAX_SITEMAP_BYTES = 5_000_000
# A sitemap index may name other sitemaps: this many are read at most.
MAX_SITEMAPS = 10
# Links to files that are no web page.
NOT_PAGES = re.compile(
    r"\.(pdf|zip|gz|tar|dmg|exe|png|jpe?g|gif|svg|webp|avif|ico|mp[34]|webm|mov|avi|css|js|json|xml|txt|woff2?)$",
    re.IGNORECASE,
)
LOC = re.compile(r"<loc>\s*([^<\s]+)\s*</loc>", re.IGNORECASE)


class CannotScan(Exception):
    """The scan cannot run: the site is unreachable, or on a network the scanner may not visit.
    Its message says why, to the operator."""


@dataclass(frozen=True)
class Target:
    """A page to scan, and how many links away from a start page it was found."""

    url: str
    depth: int


def page_url(href: str, base: str = "") -> str | None:
    """The absolute http(s) URL of a link, without its #fragment; None for anything else."""
    url, _ = urldefrag(urljoin(base, href.strip()))
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    return url if parts.path else url.replace(parts.netloc, parts.netloc + "/", 1)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{(parts.hostname or '').lower()}{port}"


def check_address(origin: str, *, allow_private: bool) -> None:
    """Refuses an origin whose host is, or resolves to, an address off the public internet (this
    server, its network, a cloud's metadata service), unless private networks are allowed."""
    if allow_private:
        return
    parts = urlsplit(origin)
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_STREAM)
    except OSError as error:
        raise CannotScan(f"Could not reach {origin}: its host name does not resolve ({error}).") from error
    private = sorted({info[4][0] for info in found if not ipaddress.ip_address(info[4][0].split("%")[0]).is_global})
    if private:
        raise CannotScan(
            f"{origin} is on a private network ({', '.join(private)}), which scans started from the admin or "
            "the schedule may not visit. Set CMP_SCANNER_ALLOW_PRIVATE=1, or run manage.py scansite yourself."
        )


def fetch(url: str, *, limit: int = MAX_SITEMAP_BYTES) -> tuple[int, bytes]:
    """The status and (up to `limit` bytes of the) body of a GET; an HTTP error is an answer too.
    Raises CannotScan when the server cannot be reached at all."""
    request = urllib.request.Request(url, headers={"User-Agent": AGENT})  # noqa: S310 (http(s) only, page_url)
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
            return response.status, response.read(limit)
    except urllib.error.HTTPError as error:
        return error.code, b""
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CannotScan(f"Could not reach {origin_of(url)}: {getattr(reason, 'strerror', None) or reason}.") from error


class Robots(RobotFileParser):
    """An origin's robots.txt rules, and why a page is skipped under them."""

    reason = "robots.txt disallows it"


def read_robots(origin: str) -> Robots:
    """The origin's robots.txt rules, read as RobotFileParser.read() reads them: 401 or 403 forbids
    everything, another 4xx (none) allows everything, a server error forbids everything for now."""
    robots = Robots(origin + "/robots.txt")
    status, body = fetch(origin + "/robots.txt", limit=500_000)
    if status in (401, 403):
        robots.disallow_all = True
    elif 400 <= status < 500:
        robots.allow_all = True
    elif status < 400:
        robots.parse(body.decode("utf-8", "replace").splitlines())
    else:
        robots.disallow_all = True
        robots.reason = f"robots.txt could not be read (HTTP {status}): nothing is scanned until it can"
    return robots


def sitemap_urls(origin: str, robots: Robots) -> list[str]:
    """The page URLs the origin's sitemaps list (those robots.txt names, else /sitemap.xml),
    following a sitemap index one level down; [] when there is none."""
    queue = list(robots.site_maps() or [origin + "/sitemap.xml"])
    pages: list[str] = []
    read = 0
    while queue and read < MAX_SITEMAPS:
        url = page_url(queue.pop(0))
        read += 1
        if url is None or origin_of(url) != origin:
            continue
        try:
            status, body = fetch(url)
        except CannotScan:
            continue
        if status != 200:
            continue
        text = body.decode("utf-8", "replace")
        found = [html.unescape(loc) for loc in LOC.findall(text)]
        if "<sitemapindex" in text[:2000]:
            queue.extend(found)
        else:
            pages.extend(found)
    return pages


@dataclass
class Frontier:
    """The pages a scan will visit, in the order it found them: start pages, then the sitemap's,
    then links, breadth first. Offers that are off the site, too deep, over the page budget,
    already seen or forbidden by robots.txt are turned away; the last two kinds are remembered."""

    origins: frozenset[str]
    max_pages: int
    max_depth: int
    # Per origin; None when the operator chose to ignore robots.txt.
    robots: dict[str, Robots] | None
    accepted: list[Target] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    budget_reached: bool = False
    _seen: set[str] = field(default_factory=set, init=False, repr=False)

    def offer(self, url: str, depth: int) -> Target | None:
        """The target, when the page is to be scanned; None otherwise."""
        normal = page_url(url)
        if normal is None or normal in self._seen or depth > self.max_depth:
            return None
        if origin_of(normal) not in self.origins or NOT_PAGES.search(urlsplit(normal).path):
            return None
        self._seen.add(normal)
        robots = self.robots[origin_of(normal)] if self.robots is not None else None
        if robots is not None and not robots.can_fetch(AGENT, normal):
            self.skipped.append({"url": normal, "reason": robots.reason})
            return None
        if len(self.accepted) >= self.max_pages:
            self.budget_reached = True
            return None
        target = Target(normal, depth)
        self.accepted.append(target)
        return target


def plan_pages(
    *,
    origins: Iterable[str],
    urls: list[str] | None,
    max_pages: int,
    max_depth: int,
    respect_robots: bool,
    allow_private: bool,
) -> tuple[Frontier, list[dict]]:
    """The frontier with its start pages (and the sitemaps' pages) accepted, and the origins that
    could not be reached [{"url", "error"}]. An explicit list of URLs is scanned as it is: no
    sitemap, no links followed. Raises CannotScan when no start page can be reached."""
    starts = [url for url in (page_url(u) for u in urls or []) if url] if urls else [o + "/" for o in origins]
    if not starts:
        raise CannotScan("Nothing to scan: the site has no origins. Add one to the site, or give --url.")
    scan_origins = list(dict.fromkeys(origin_of(url) for url in starts))
    robots, unreachable, first_error = {}, [], None
    for origin in scan_origins:
        check_address(origin, allow_private=allow_private)
        try:
            robots[origin] = read_robots(origin)
        except CannotScan as error:
            unreachable.append({"url": origin + "/", "error": str(error)})
            first_error = first_error or error
    if not robots:
        raise CannotScan(f"{first_error} Check that the site is up and that this server can reach it.")
    frontier = Frontier(
        origins=frozenset(robots),
        max_pages=max_pages,
        max_depth=0 if urls else max_depth,
        robots=robots if respect_robots else None,
    )
    for url in starts:
        frontier.offer(url, 0)
    if not urls:
        for origin in robots:
            for url in sitemap_urls(origin, robots[origin]):
                frontier.offer(url, 0)
    return frontier, unreachable
