"""A scan's report, as CookieScan.report keeps it (docs/scanner.md, "The report"): the pages, every
cookie, storage key and third-party host with the pass and pages it appeared in, the findings, the
suggested declarations and a summary; and the same as text, for the command line."""

import ipaddress
from datetime import datetime
from urllib.parse import urlsplit

from consent.scanner import PASSES
from consent.scanner.classify import Declarations, classify
from consent.scanner.findings import cookie_findings, ordered, page_findings, suggestions

# Second-level labels under which a country's registrable domains sit (shop.co.uk), for telling
# first-party hosts from third-party ones without the whole Public Suffix List.
SECOND_LEVEL = {"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go"}


def site_of(host: str) -> str:
    """The registrable domain a host belongs to (www.shop.example: shop.example); an IP address
    or a single label is its own."""
    host = host.lower().strip(".").strip("[]")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    labels = host.split(".")
    keep = 3 if len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def same_site(host: str, other: str) -> bool:
    return site_of(host) == site_of(other)


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


def _set_by(setters, name: str, domain: str) -> str:
    """The first response or script that set a cookie of this name for this domain."""
    domain = domain.lstrip(".")
    for setter in setters:
        if setter.name == name and (setter.host == domain or setter.host.endswith("." + domain)):
            return setter.source
    return next((setter.source for setter in setters if setter.name == name), "")


def _first_pass(passes: list[str]) -> str:
    return min(passes, key=PASSES.index)


def merge_cookies(pages, declarations: Declarations) -> list[dict]:
    """Every cookie (by name, domain and path), classified, with the passes and pages it was in,
    and for each pass the page it was first seen on and who set it there ("seen")."""
    cookies: dict[tuple, dict] = {}
    for page in pages:
        for step, result in page.passes.items():
            for raw in result.cookies:
                key = (raw["name"], raw["domain"], raw["path"])
                cookie = cookies.get(key)
                if cookie is None:
                    cookie = cookies[key] = {
                        "name": raw["name"],
                        "domain": raw["domain"],
                        "path": raw["path"],
                        "http_only": raw["httpOnly"],
                        "secure": raw["secure"],
                        "same_site": raw.get("sameSite", ""),
                        "expires": raw["expires"],
                        "third_party": not same_site(raw["domain"], host_of(page.url)),
                        "first_pass": step,
                        "passes": [],
                        "pages": [],
                        "set_by": "",
                        "seen": {},
                        "classification": classify(raw["name"], declarations),
                    }
                if step not in cookie["passes"]:
                    cookie["passes"].append(step)
                if page.url not in cookie["pages"]:
                    cookie["pages"].append(page.url)
                cookie["seen"].setdefault(
                    step, {"page": page.url, "set_by": _set_by(result.setters, raw["name"], raw["domain"])}
                )
    for cookie in cookies.values():
        cookie["passes"].sort(key=PASSES.index)
        cookie["first_pass"] = cookie["passes"][0]
        cookie["set_by"] = cookie["seen"][cookie["first_pass"]]["set_by"]
    return sorted(cookies.values(), key=lambda c: (PASSES.index(c["first_pass"]), c["name"], c["domain"]))


def merge_storage(pages) -> list[dict]:
    """Every localStorage and sessionStorage key, by origin, with its passes and pages."""
    found: dict[tuple, dict] = {}
    for page in pages:
        for step, result in page.passes.items():
            for item in result.storage:
                entry = found.setdefault(
                    (item["kind"], item["key"], item["origin"]), {**item, "first_pass": step, "pages": []}
                )
                entry["first_pass"] = _first_pass([entry["first_pass"], step])
                if page.url not in entry["pages"]:
                    entry["pages"].append(page.url)
    return sorted(found.values(), key=lambda s: (PASSES.index(s["first_pass"]), s["origin"], s["kind"], s["key"]))


def merge_hosts(pages) -> list[dict]:
    """The third-party hosts the pages contacted (any host of another site than the page's)."""
    found: dict[str, dict] = {}
    for page in pages:
        for step, result in page.passes.items():
            for host in result.hosts:
                if not host or same_site(host, host_of(page.url)):
                    continue
                entry = found.setdefault(host, {"host": host, "first_pass": step, "pages": []})
                entry["first_pass"] = _first_pass([entry["first_pass"], step])
                if page.url not in entry["pages"]:
                    entry["pages"].append(page.url)
    return sorted(found.values(), key=lambda h: (PASSES.index(h["first_pass"]), h["host"]))


def page_entries(pages, unreachable: list[dict]) -> list[dict]:
    """Each page: its status, its error, its depth, which passes were taken, and whether the
    banner showed (None when the page failed before it could)."""
    entries = []
    for page in pages:
        errors = [result.error for result in page.passes.values() if result.error]
        if "rejected" in page.passes and not page.passes["rejected"].error:
            widget = page.passes["rejected"].decided
        else:
            widget = False if not page.before.error else None
        entries.append(
            {
                "url": page.url,
                "status": page.before.status,
                "error": errors[0] if errors else "",
                "depth": page.depth,
                "passes": list(page.passes),
                "widget": widget,
            }
        )
    entries.extend(
        {"url": u["url"], "status": None, "error": u["error"], "depth": 0, "passes": [], "widget": None}
        for u in unreachable
    )
    return entries


def build_report(
    *,
    site,
    crawl,
    skipped: list[dict],
    unreachable: list[dict],
    declarations: Declarations,
    options: dict,
    started_at: datetime,
    finished_at: datetime,
) -> dict:
    pages = page_entries(crawl.pages, unreachable)
    cookies = merge_cookies(crawl.pages, declarations)
    hosts = merge_hosts(crawl.pages)
    findings = ordered(page_findings(pages) + cookie_findings(cookies, declarations))
    categories = set(site.categories.values_list("key", flat=True))
    return {
        "site": site.key,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "seconds": round((finished_at - started_at).total_seconds(), 2),
        "options": options,
        "pages": pages,
        "skipped": skipped,
        "stopped": crawl.stopped,
        "cookies": cookies,
        "storage": merge_storage(crawl.pages),
        "hosts": hosts,
        "findings": findings,
        "suggestions": suggestions(cookies, categories),
        "summary": {
            "pages": len(crawl.pages),
            "cookies": len(cookies),
            "violations": sum(f["severity"] == "violation" for f in findings),
            "warnings": sum(f["severity"] == "warning" for f in findings),
            "third_party_hosts": len(hosts),
        },
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def text_summary(report: dict, site_name: str = "") -> str:
    """The report as an operator reads it in a terminal: the figures, the findings, the cookies,
    the suggestions, and what was skipped."""
    summary = report["summary"]
    name = f"{site_name} ({report['site']})" if site_name else report["site"]
    lines = [
        f"Scanned {_plural(summary['pages'], 'page')} of {name} in {report['seconds']:.1f} s: "
        f"{_plural(summary['cookies'], 'cookie')}, {_plural(summary['third_party_hosts'], 'third-party host')}, "
        f"{_plural(summary['violations'], 'violation')}, {_plural(summary['warnings'], 'warning')}.",
    ]
    if report.get("stopped"):
        lines.append(f"Stopped early: {report['stopped']}.")
    for severity, title in (("violation", "Violations"), ("warning", "Warnings")):
        found = [f for f in report["findings"] if f["severity"] == severity]
        if found:
            lines += ["", f"{title}:"] + [f"  - {f['message']}" for f in found]
    defaults = [
        f["cookie"] for f in report["findings"] if f["kind"] == "declared_never_matched" and f["severity"] == "info"
    ]
    if defaults:
        lines += ["", f"Default patterns no cookie matched (remove those the site never sets): {', '.join(defaults)}"]
    if report["cookies"]:
        rows = [("cookie", "domain", "first pass", "category", "source", "set by")] + [
            (
                c["name"] + (" (HttpOnly)" if c["http_only"] else ""),
                c["domain"] + (" (3rd party)" if c["third_party"] else ""),
                c["first_pass"],
                c["classification"]["category"] or "unknown",
                c["classification"]["source"],
                c["set_by"] or "-",
            )
            for c in report["cookies"]
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines += ["", "Cookies:"] + [
            "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[5]
            for row in rows
        ]
    if report["hosts"]:
        lines += ["", "Third-party hosts:"]
        lines += [f"  {h['host']} (first {h['first_pass']})" for h in report["hosts"]]
    if report["suggestions"]:
        lines += ["", 'Suggested declarations (the admin\'s "Apply suggestions" adds them):']
        lines += [f"  {s['category']}: {s['pattern']} ({s['provider'] or '?'})" for s in report["suggestions"]]
    if report.get("skipped"):
        lines += ["", "Skipped:"] + [f"  {s['url']}: {s['reason']}" for s in report["skipped"]]
    return "\n".join(lines)
