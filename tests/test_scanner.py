"""The cookie scanner (consent.scanner), over real local sites in Debian's Chromium: what each pass
finds, how each cookie is classified, the findings, the command; and its parts without a browser."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from consent.models import Category, ConsentRecord, CookieScan, DailyImpressions
from consent.scanner import browser_available
from consent.scanner.classify import Declarations, classify
from consent.scanner.pages import CannotScan, Frontier, Robots, plan_pages
from consent.scanner.report import same_site, site_of
from consent.scanner.run import due_sites, run_scan
from tests.factories import make_site
from tests.scan_sites import Answer, LocalServer, ScanSites

browser = pytest.mark.browser


def by_name(report: dict) -> dict[str, dict]:
    return {cookie["name"]: cookie for cookie in report["cookies"]}


def findings(report: dict, kind: str, cookie: str | None = None) -> list[dict]:
    return [f for f in report["findings"] if f["kind"] == kind and (cookie is None or f["cookie"] == cookie)]


@pytest.fixture
def sites(live_server, transactional_db):
    """The local site (see tests/scan_sites.py), its CMP site with a session cookie declared as
    authentication and a pattern that nothing sets, and the widget from the live server."""
    sites = ScanSites()
    sites.cmp = make_site(name="Scan test", origins=(sites.origin,))
    Category.objects.filter(site=sites.cmp, key="authentication").update(cookie_patterns=["sessionid"])
    preferences = Category.objects.get(site=sites.cmp, key="preferences")
    preferences.cookie_patterns = [*preferences.cookie_patterns, "legacy_cart"]
    preferences.save()
    sites.serve(f"{live_server.url}/cmp/{sites.cmp.key}.js")
    yield sites
    sites.close()


@browser
def test_a_scan_finds_each_cookie_in_its_passes_classified_with_the_findings(sites, live_server):
    scan = run_scan(CookieScan.objects.create(site=sites.cmp), max_pages=10)

    assert scan.status == CookieScan.FINISHED, scan.error
    assert scan.started_at <= scan.finished_at
    report = scan.report
    home = sites.url("/")
    # Pages: the origin, its links to the depth asked, the sitemap's; not what robots.txt forbids,
    # not a PDF, not another site.
    assert {p["url"] for p in report["pages"]} == {home, *map(sites.url, ["/about", "/no-banner", "/from-sitemap"])}
    assert report["skipped"] == [{"url": sites.url("/private/orders"), "reason": "robots.txt disallows it"}]
    assert "/private/orders" not in sites.site.hits
    cookies = by_name(report)

    # A tracker that ignores the banner: set before any decision, by its script, a violation.
    ga = cookies["_ga"]
    assert ga["first_pass"] == "before" and ga["passes"] == ["before", "rejected", "accepted"]
    assert ga["set_by"] == sites.url("/js/tracker.js")
    assert ga["classification"] == {
        "category": "analytics",
        "provider": "Google",
        "purpose": "ID used to identify users",
        "retention": "2 years",
        "source": "site",
        "pattern": "_ga",
    }
    [violation] = findings(report, "set_before_consent", "_ga")
    assert violation["severity"] == "violation" and violation["page"] == home
    assert violation["set_by"] == sites.url("/js/tracker.js") and violation["category"] == "analytics"
    assert "_ga (analytics, Google) is set before the visitor decides" in violation["message"]
    assert findings(report, "set_after_reject", "_ga") == []  # the same violation, said once

    # The HttpOnly session cookie, declared as authentication: set before a decision, and fine.
    session = cookies["sessionid"]
    assert session["http_only"] and session["first_pass"] == "before" and not session["third_party"]
    assert session["set_by"] == home  # the page's own response, by its Set-Cookie header
    assert session["classification"]["category"] == "authentication"
    assert session["classification"]["source"] == "site"  # the site's word over the database's (Instagram)
    assert not [f for f in report["findings"] if f["cookie"] == "sessionid"]

    # The analytics script that obeys the banner: only after "Accept all"; undeclared, suggested.
    clarity = cookies["_clck"]
    assert clarity["passes"] == ["accepted"] and clarity["set_by"] == sites.url("/js/analytics.js")
    assert clarity["classification"]["source"] == "database" and clarity["classification"]["category"] == "analytics"
    [undeclared] = findings(report, "undeclared", "_clck")
    assert undeclared["severity"] == "warning" and undeclared["suggested_category"] == "analytics"

    # The third party's iframe, blocked until marketing is allowed: its own cookie, third-party.
    ide = cookies["IDE"]
    assert ide["domain"] == "tracker.localhost" and ide["third_party"] and ide["secure"]
    assert ide["passes"] == ["accepted"] and ide["set_by"] == sites.tracker_origin + "/frame"
    assert ide["classification"]["category"] == "marketing" and ide["classification"]["provider"] == "Google"
    assert {"category": "marketing", "pattern": "IDE", "provider": "Google"}.items() <= next(
        s for s in report["suggestions"] if s["pattern"] == "IDE"
    ).items()
    assert {"category": "analytics", "pattern": "_clck"}.items() <= next(
        s for s in report["suggestions"] if s["pattern"] == "_clck"
    ).items()

    # An inline script's cookie nobody knows: flagged for the operator, not suggested.
    theme = cookies["theme"]
    # (The banner inserts the blocked inline script once preferences are allowed.)
    assert theme["passes"] == ["accepted"]
    assert theme["set_by"] == f"{home} (inline script, inserted by {live_server.url}/cmp/{sites.cmp.key}.js)"
    assert theme["classification"]["source"] == "unknown" and theme["classification"]["category"] is None
    [unknown] = findings(report, "unknown_cookie", "theme")
    assert unknown["suggested_category"] is None
    assert all(s["pattern"] != "theme" for s in report["suggestions"])

    # The banner's own cookie: after a decision, strictly necessary.
    consent = cookies["cmp_consent"]
    assert consent["passes"] == ["rejected", "accepted"]
    assert consent["classification"]["category"] == "authentication"

    # A declared pattern no page set, a page without the banner.
    [never] = findings(report, "declared_never_matched", "legacy_cart")
    assert never["severity"] == "warning" and never["category"] == "preferences"
    [default] = findings(report, "declared_never_matched", "_fbp")  # a default every new site starts with
    assert default["severity"] == "info"
    [no_widget] = findings(report, "no_widget")
    assert no_widget["page"] == sites.url("/no-banner")

    # Storage, and the hosts of other sites contacted: the widget's server at once, the tracker
    # only once marketing is allowed.
    storage = {(s["kind"], s["key"]): s for s in report["storage"]}
    assert storage["session", "trk"]["first_pass"] == "before"
    assert storage["local", "clarity"]["first_pass"] == "accepted"
    hosts = {h["host"]: h for h in report["hosts"]}
    assert hosts["tracker.localhost"]["first_pass"] == "accepted"
    assert hosts["localhost"]["first_pass"] == "before"
    assert "127.0.0.1" not in hosts

    assert report["summary"] == {
        "pages": 4,
        "cookies": len(report["cookies"]),
        "violations": 1,
        "warnings": sum(f["severity"] == "warning" for f in report["findings"]),
        "third_party_hosts": len(report["hosts"]),
    }
    assert report["options"]["max_pages"] == 10 and report["options"]["respect_robots"] is True
    # The scanner answered the widget's calls itself: its decisions are in no record, no figure.
    assert not ConsentRecord.objects.filter(site=sites.cmp).exists()
    assert not DailyImpressions.objects.filter(site=sites.cmp).exists()


@browser
def test_the_command_scans_given_urls_and_prints_the_report(sites):
    out = StringIO()
    call_command(
        "scansite",
        "--site",
        sites.cmp.key,
        "--url",
        sites.url("/private/orders"),
        "--ignore-robots",
        "--json",
        stdout=out,
    )

    report = json.loads(out.getvalue())
    assert [p["url"] for p in report["pages"]] == [sites.url("/private/orders")]
    assert report["options"] == {
        "max_pages": 50,
        "max_depth": 3,
        "max_seconds": 600,
        "concurrency": 2,
        "respect_robots": False,
        "urls": [sites.url("/private/orders")],
    }
    scan = CookieScan.objects.get()
    assert scan.trigger == "command" and scan.status == CookieScan.FINISHED and scan.report == report

    text = StringIO()
    call_command("scansite", "--site", sites.cmp.key, "--url", sites.url("/private/orders"), stdout=text)
    assert "Scanned 0 pages of Scan test" in text.getvalue()
    assert f"{sites.url('/private/orders')}: robots.txt disallows it" in text.getvalue()


@browser
def test_a_scan_of_the_demo_shop_finds_no_violation(live_server, transactional_db):
    demo = make_site(name="Demo shop", origins=(live_server.url,))

    scan = run_scan(CookieScan.objects.create(site=demo), urls=[live_server.url + "/demo/"])

    assert scan.status == CookieScan.FINISHED, scan.error
    report = scan.report
    assert report["pages"][0]["status"] == 200 and report["pages"][0]["widget"] is True
    assert report["summary"]["violations"] == 0, report["findings"]
    assert by_name(report)["cmp_consent"]["passes"] == ["rejected", "accepted"]


def test_an_unreachable_site_fails_with_the_reason(db):
    closed = LocalServer()
    closed.close()
    site = make_site(origins=(closed.origin,))

    scan = run_scan(CookieScan.objects.create(site=site))

    assert scan.status == CookieScan.FAILED and scan.finished_at
    assert scan.error.startswith(f"Could not reach {closed.origin}: ")
    assert "Check that the site is up" in scan.error
    with pytest.raises(CommandError) as raised:
        call_command("scansite", "--site", site.key, stdout=StringIO())
    assert raised.value.returncode == 2
    assert str(raised.value).startswith(f"The scan could not run: Could not reach {closed.origin}")

    queued = CookieScan.objects.create(site=site, trigger="admin")  # as "Scan now" queues it
    with pytest.raises(CommandError) as raised:
        call_command("scansite", "--scan", str(queued.pk), stdout=StringIO())
    assert raised.value.returncode == 2
    queued.refresh_from_db()
    assert queued.status == CookieScan.FAILED and queued.error.startswith("Could not reach")


def test_a_site_without_origins_fails_with_the_reason(db):
    site = make_site(origins=())

    scan = run_scan(CookieScan.objects.create(site=site))

    assert scan.status == CookieScan.FAILED
    assert scan.error == "Nothing to scan: the site has no origins. Add one to the site, or give --url."


def test_the_admin_and_the_schedule_may_not_scan_private_networks_unless_allowed(db, settings):
    settings.CMP_SCANNER_ALLOW_PRIVATE = False
    site = make_site(origins=("http://127.0.0.1:9",))

    scan = run_scan(CookieScan.objects.create(site=site, trigger="admin"))

    assert scan.status == CookieScan.FAILED
    assert "private network (127.0.0.1)" in scan.error and "CMP_SCANNER_ALLOW_PRIVATE" in scan.error


def test_the_command_refuses_what_it_cannot_run(db):
    site = make_site()
    done = CookieScan.objects.create(site=site, status=CookieScan.FINISHED)
    for args, said in [
        (["--site", "nope"], "No site has the key 'nope'."),
        (["--scan", str(done.pk)], f"Scan {done.pk} is finished, not queued."),
        (["--site", site.key, "--max-pages", "0"], "--max-pages must be at least 1."),
    ]:
        with pytest.raises(CommandError, match=said) as raised:
            call_command("scansite", *args, stdout=StringIO())
        assert raised.value.returncode == 2


def test_the_schedule_picks_weekly_sites_not_scanned_for_a_week(db):
    names = ("never", "lately", "long ago", "failed lately", "off")
    never, lately, long_ago, failed, off = (make_site(name=name) for name in names)
    for site in (never, lately, long_ago, failed):
        site.scan_weekly = True
        site.save()
    CookieScan.objects.create(site=lately, created_at=timezone.now() - timedelta(days=2))
    CookieScan.objects.create(site=long_ago, created_at=timezone.now() - timedelta(days=8))
    CookieScan.objects.create(site=failed, created_at=timezone.now() - timedelta(days=1), status=CookieScan.FAILED)
    CookieScan.objects.create(site=off, created_at=timezone.now() - timedelta(days=30))

    assert {site.name for site in due_sites()} == {"never", "long ago", "failed lately"}


def test_the_due_scans_run_from_cron_and_say_which_could_not(db):
    closed = LocalServer()
    closed.close()
    down = make_site(name="Down", origins=(closed.origin,))
    down.scan_weekly = True
    down.save()
    make_site(name="Not weekly")

    with pytest.raises(CommandError, match=r"Some scans could not run:\nDown \(.+\): Could not reach") as raised:
        call_command("scansite", "--due", stdout=StringIO())

    assert raised.value.returncode == 2
    [scan] = CookieScan.objects.all()
    assert scan.site == down and scan.trigger == "schedule" and scan.status == CookieScan.FAILED


def test_without_the_browser_a_scan_fails_saying_what_to_install(db, monkeypatch):
    assert browser_available() is None  # here, it is installed
    monkeypatch.setattr("consent.chromium.EXECUTABLE", "/nonexistent/chromium")
    site = make_site(origins=("http://127.0.0.1:9",))

    scan = run_scan(CookieScan.objects.create(site=site))

    assert scan.status == CookieScan.FAILED
    assert scan.error == (
        "Chromium is not installed at /nonexistent/chromium. Install the scanner: "
        "pip install -r requirements-scanner.txt and apt-get install chromium."
    )


def robots(text: str) -> Robots:
    parser = Robots()
    parser.parse(text.splitlines())
    return parser


def test_the_frontier_keeps_to_the_site_its_budget_depth_and_robots():
    frontier = Frontier(
        origins=frozenset({"https://shop.example"}),
        max_pages=3,
        max_depth=1,
        robots={"https://shop.example": robots("User-agent: cmp-cookie-scanner\nDisallow: /cart\n")},
    )

    assert frontier.offer("https://shop.example", 0).url == "https://shop.example/"
    assert frontier.offer("https://shop.example/#top", 0) is None  # the same page
    assert frontier.offer("https://other.example/", 1) is None  # another site
    assert frontier.offer("https://shop.example/catalogue.pdf", 1) is None  # not a page
    assert frontier.offer("https://shop.example/a/b", 2) is None  # too deep
    assert frontier.offer("https://shop.example/cart/1", 1) is None
    assert frontier.skipped == [{"url": "https://shop.example/cart/1", "reason": "robots.txt disallows it"}]
    assert frontier.offer("https://shop.example/a?x=1", 1).depth == 1
    assert frontier.offer("https://shop.example/b", 1)
    assert frontier.offer("https://shop.example/c", 1) is None and frontier.budget_reached
    assert [t.url for t in frontier.accepted] == [
        "https://shop.example/",
        "https://shop.example/a?x=1",
        "https://shop.example/b",
    ]


def test_the_plan_reads_the_sitemap_index_and_scans_an_explicit_list_as_it_is():
    server = LocalServer()
    origin = server.origin
    server.routes.update(
        {
            "/robots.txt": Answer("User-agent: *\nAllow: /\n", "text/plain"),
            "/sitemap.xml": Answer(f"<sitemapindex><sitemap><loc>{origin}/pages.xml</loc></sitemap></sitemapindex>"),
            "/pages.xml": Answer(f"<urlset><url><loc>{origin}/a?x=1&amp;y=2</loc></url></urlset>"),
        }
    )
    try:
        frontier, unreachable = plan_pages(
            origins=[origin], urls=None, max_pages=5, max_depth=2, respect_robots=True, allow_private=True
        )
        assert [t.url for t in frontier.accepted] == [origin + "/", origin + "/a?x=1&y=2"] and unreachable == []

        frontier, _ = plan_pages(
            origins=[origin], urls=[origin + "/b"], max_pages=5, max_depth=2, respect_robots=True, allow_private=True
        )
        assert [t.url for t in frontier.accepted] == [origin + "/b"] and frontier.max_depth == 0
    finally:
        server.close()
    with pytest.raises(CannotScan, match=f"Could not reach {origin}"):
        plan_pages(origins=[origin], urls=None, max_pages=5, max_depth=2, respect_robots=True, allow_private=True)


@pytest.mark.django_db
def test_a_cookie_is_classified_by_the_site_first_then_the_database():
    site = make_site()
    Category.objects.filter(site=site, key="marketing").update(
        cookie_patterns=["promo_*"], cookie_details={"promo_*": {"provider": "Us", "purpose": "Offers"}}
    )
    declarations = Declarations.of_site(site)

    assert classify("promo_summer", declarations) == {
        "category": "marketing",
        "provider": "Us",
        "purpose": "Offers",
        "retention": "",
        "source": "site",
        "pattern": "promo_*",
    }
    assert classify("_ga_ABC123", declarations)["pattern"] == "_ga_*"  # the site's default patterns
    assert classify("mp_x_mixpanel", declarations)["source"] == "database"
    assert classify("mp_x_mixpanel", declarations)["pattern"] == "mp_*"
    assert classify("zzz", declarations)["source"] == "unknown"


def test_first_and_third_parties_are_told_apart_by_their_registrable_domain():
    assert site_of("www.shop.example") == "shop.example" and site_of("shop.co.uk") == "shop.co.uk"
    assert site_of("127.0.0.1") == "127.0.0.1"
    assert same_site("shop.example", ".shop.example") and same_site("a.shop.co.uk", "shop.co.uk")
    assert not same_site("tracker.localhost", "localhost")
    assert not same_site("127.0.0.1", "tracker.localhost")


@browser
def test_the_time_budget_stops_the_scan_from_starting_pages(sites):
    scan = run_scan(CookieScan.objects.create(site=sites.cmp), max_seconds=1, concurrency=1)

    assert scan.status == CookieScan.FINISHED, scan.error
    assert scan.report["stopped"] == "the time budget ran out"
    late = [s["url"] for s in scan.report["skipped"] if s["reason"] == "the time budget ran out"]
    assert late and not set(late) & {p["url"] for p in scan.report["pages"]}
