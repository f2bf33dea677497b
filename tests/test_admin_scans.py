"""Cookie scans in the admin: the list and the report, what changed since the previous scan, the
suggestions applied to the site's categories (audited, never twice), per-site roles, and Scan now
(one scan at a time, started as its own process; the reason shown where this server cannot scan)."""

import os
import sys
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from consent import scanner
from consent.models import Category, ConfigChange, CookieScan, SiteAccess, SiteRole
from consent.selectors.cookies import declared_cookies
from consent.services import scans
from consent.services.errors import ScanRefused
from tests.conftest import sign_in_staff
from tests.factories import make_site
from tests.test_admin_sites import post_change

LIST = "/admin/consent/cookiescan/"
DETAIL = "/admin/consent/cookiescan/{}/change/"
APPLY = "/admin/consent/cookiescan/{}/apply/"
SCAN_NOW = "/admin/consent/cookiescan/site/{}/scan/"
SITE = "/admin/consent/site/{}/change/"
MISSING = "Chromium is not installed at /usr/bin/chromium. Install the scanner: apt-get install chromium."


def cookie(name, domain="shop.example", category=None, first="before", provider="", third_party=False, pages=1):
    return {
        "name": name,
        "domain": domain,
        "path": "/",
        "http_only": False,
        "secure": True,
        "same_site": "Lax",
        "expires": None,
        "third_party": third_party,
        "first_pass": first,
        "passes": [first],
        "pages": [f"https://shop.example/{n}" for n in range(pages)],
        "set_by": "https://www.googletagmanager.com/gtag/js",
        "classification": {
            "category": category,
            "provider": provider,
            "purpose": "",
            "retention": "2 years" if category else "",
            "source": "database" if category else "unknown",
            "pattern": name if category else "",
        },
    }


def finding(kind, severity, name, page="https://shop.example/", category=None):
    return {
        "kind": kind,
        "severity": severity,
        "cookie": name,
        "category": category,
        "page": page,
        "set_by": "https://www.googletagmanager.com/gtag/js",
        "message": f"{name}: {kind.replace('_', ' ')}.",
        "suggested_category": category,
    }


def report(site, cookies=(), findings=(), hosts=(), suggestions=(), storage=()):
    violations = sum(f["severity"] == "violation" for f in findings)
    return {
        "site": site.key,
        "started_at": "2026-11-26T10:00:00+00:00",
        "finished_at": "2026-11-26T10:01:00+00:00",
        "seconds": 60.2,
        "options": {"max_pages": 10},
        "pages": [{"url": "https://shop.example/", "status": 200, "error": ""}],
        "cookies": list(cookies),
        "storage": list(storage),
        "hosts": [{"host": host, "first_pass": "before", "pages": ["https://shop.example/"]} for host in hosts],
        "findings": list(findings),
        "suggestions": list(suggestions),
        "summary": {
            "pages": 1,
            "cookies": len(cookies),
            "violations": violations,
            "warnings": len(findings) - violations,
            "third_party_hosts": len(hosts),
        },
    }


def make_scan(site, status=CookieScan.FINISHED, ago=timedelta(0), **parts) -> CookieScan:
    return CookieScan.objects.create(
        site=site, status=status, created_at=timezone.now() - ago, report=report(site, **parts) if parts else {}
    )


SUGGESTIONS = [
    {"category": "analytics", "pattern": "_ga_XYZ", "provider": "Google", "purpose": "", "duration": "2 years"},
    {"category": "marketing", "pattern": "_tt_id", "provider": "TikTok", "purpose": "Ads", "duration": "13 months"},
    {"category": "preferences", "pattern": "shop_lang", "provider": "", "purpose": "", "duration": ""},
    {"category": "gone", "pattern": "orphan", "provider": "", "purpose": "", "duration": ""},
]


@pytest.fixture
def scanner_ready(monkeypatch):
    """A server that can scan, whose background process is recorded rather than started."""
    launched = []
    monkeypatch.setattr(scanner, "browser_available", lambda: None)
    monkeypatch.setattr(scans, "launch", launched.append)
    return launched


def given(client, site, role):
    user = User.objects.create_user(f"staff-{role}", password="pw-staff-long-enough", is_staff=True)
    SiteAccess.objects.create(user=user, site=site, role=role)
    return sign_in_staff(client, user)


def test_the_list_and_the_report_show_a_stored_scan(operator, site):
    scan = make_scan(
        site,
        cookies=[
            cookie("_ga", category="analytics", provider="Google"),
            cookie("<script>x</script>", domain="ads.example", third_party=True, pages=3),
        ],
        findings=[
            finding("unknown_cookie", "warning", "<script>x</script>"),
            finding("set_before_consent", "violation", "_ga", page="https://shop.example/cart", category="analytics"),
        ],
        hosts=["www.googletagmanager.com"],
        storage=[{"kind": "local", "key": "_hjSession", "origin": "https://shop.example", "first_pass": "accepted"}],
    )
    listed = operator.get(LIST)
    assert listed.status_code == 200
    row = listed.content.decode()
    assert "Shop" in row and "<strong>1</strong>" in row  # one violation, bold
    page = operator.get(DETAIL.format(scan.pk)).content.decode()
    assert 'class="finding-violation"' in page
    assert page.index("set before consent") < page.index("unknown cookie")  # violations first
    assert "https://shop.example/cart" in page and "https://www.googletagmanager.com/gtag/js" in page
    assert "<code>_ga</code>" in page and "Google" in page and "2 years" in page
    assert "Before any choice" in page and "After \u201cAccept all\u201d" in page
    assert "www.googletagmanager.com" in page and "_hjSession" in page
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "first finished scan" in page


def test_a_scan_not_finished_yet_says_so(operator, site):
    scan = make_scan(site, status=CookieScan.RUNNING)
    page = operator.get(DETAIL.format(scan.pk)).content.decode()
    assert "This scan is running" in page and "Findings" not in page
    assert '<td class="field-pages">-</td>' in operator.get(LIST).content.decode()


def test_scan_changes_compare_with_the_previous_finished_scan(operator, site):
    first = make_scan(
        site,
        ago=timedelta(days=7),
        cookies=[cookie("_ga", category="analytics"), cookie("old_one")],
        findings=[finding("set_before_consent", "violation", "_ga")],
        hosts=["www.googletagmanager.com", "old.example"],
    )
    make_scan(site, status=CookieScan.FAILED, ago=timedelta(days=3))
    latest = make_scan(
        site,
        cookies=[cookie("_ga", category="analytics"), cookie("_fbp", category="marketing")],
        findings=[finding("set_after_reject", "violation", "_fbp")],
        hosts=["www.googletagmanager.com", "connect.facebook.net"],
    )
    assert scans.scan_changes(first)["previous"] is None
    assert scans.scan_changes(first)["cookies"] == {"new": [], "gone": []}
    changes = scans.scan_changes(latest)
    assert changes["previous"] == first
    assert [c["name"] for c in changes["cookies"]["new"]] == ["_fbp"]
    assert [c["name"] for c in changes["cookies"]["gone"]] == ["old_one"]
    assert [(f["kind"], f["cookie"]) for f in changes["findings"]["new"]] == [("set_after_reject", "_fbp")]
    assert [(f["kind"], f["cookie"]) for f in changes["findings"]["resolved"]] == [("set_before_consent", "_ga")]
    assert [h["host"] for h in changes["hosts"]["new"]] == ["connect.facebook.net"]
    assert [h["host"] for h in changes["hosts"]["gone"]] == ["old.example"]
    page = operator.get(DETAIL.format(latest.pk)).content.decode()
    assert "Changes since the previous scan" in page
    assert "New cookies: <code>_fbp</code>" in page and "Hosts gone: old.example" in page


def test_applying_suggestions_adds_patterns_and_details_once_with_audit_entries(operator, site):
    scan = make_scan(site, suggestions=SUGGESTIONS)
    page = operator.get(DETAIL.format(scan.pk)).content.decode()
    assert 'id="apply-suggestions"' in page and "_tt_id" in page
    assert "<code>_ga_XYZ</code>" not in page  # already covered by _ga_*
    response = operator.post(APPLY.format(scan.pk), follow=True)
    assert "added 2 cookie pattern(s)" in response.content.decode()
    marketing = Category.objects.get(site=site, key="marketing")
    assert marketing.cookie_patterns[-1] == "_tt_id"
    assert marketing.cookie_details["_tt_id"] == {"provider": "TikTok", "purpose": "Ads", "duration": "13 months"}
    preferences = Category.objects.get(site=site, key="preferences")
    assert preferences.cookie_patterns[-1] == "shop_lang" and "shop_lang" not in preferences.cookie_details
    assert Category.objects.get(site=site, key="analytics").cookie_patterns.count("_ga_XYZ") == 0
    entries = ConfigChange.objects.filter(site=site, target__startswith="category ")
    assert sorted(e.target for e in entries) == ["category marketing", "category preferences"]
    change = entries.get(target="category marketing").changes
    assert "_tt_id" not in change["cookie_patterns"][0] and change["cookie_patterns"][1][-1] == "_tt_id"
    assert change["cookie_details"] == [{}, {"_tt_id": marketing.cookie_details["_tt_id"]}]
    assert entries.first().username == "operator"
    listed = {c["name"]: c for c in declared_cookies(site.key)["categories"]["marketing"]}
    assert listed["_tt_id"]["provider"] == "TikTok"
    # Again: nothing left to add, nothing written.
    assert scans.apply_suggestions(scan=scan, by=None) == 0
    assert entries.count() == 2
    assert "already declared" in operator.get(DETAIL.format(scan.pk)).content.decode()


def test_the_apply_action_works_on_the_list_and_only_for_finished_scans(operator, site):
    done = make_scan(site, ago=timedelta(hours=1), suggestions=SUGGESTIONS[1:2])
    running = make_scan(site, status=CookieScan.RUNNING)
    response = operator.post(
        LIST, {"action": "apply_suggestions", "_selected_action": [done.pk, running.pk]}, follow=True
    )
    text = response.content.decode()
    assert "added 1 cookie pattern(s)" in text and "this one is running" in text
    assert "_tt_id" in Category.objects.get(site=site, key="marketing").cookie_patterns
    with pytest.raises(ScanRefused):
        scans.apply_suggestions(scan=running, by=None)


def test_a_figures_user_sees_the_reports_but_cannot_apply_or_scan(client, site, scanner_ready):
    theirs = make_site(name="Theirs", origins=("https://theirs.example",))
    scan = make_scan(site, suggestions=SUGGESTIONS)
    other = make_scan(theirs, suggestions=SUGGESTIONS)
    given(client, site, SiteRole.FIGURES)
    assert [s.pk for s in client.get(LIST).context["cl"].result_list] == [scan.pk]
    page = client.get(DETAIL.format(scan.pk)).content.decode()
    assert "_tt_id" in page and 'id="apply-suggestions"' not in page
    assert client.get(DETAIL.format(other.pk)).status_code == 302  # not found for them
    before = list(Category.objects.filter(site=site).values_list("cookie_patterns", flat=True))
    assert client.post(APPLY.format(scan.pk)).status_code == 403
    client.post(LIST, {"action": "apply_suggestions", "_selected_action": [scan.pk]})
    assert list(Category.objects.filter(site=site).values_list("cookie_patterns", flat=True)) == before
    assert not ConfigChange.objects.filter(site=site, target__startswith="category ").exists()
    assert 'id="scan-now"' not in client.get(SITE.format(site.pk)).content.decode()
    assert client.post(SCAN_NOW.format(site.pk)).status_code == 403
    assert scanner_ready == [] and CookieScan.objects.filter(site=site).count() == 1


def test_the_banner_role_may_apply_on_its_own_site_only(client, site):
    theirs = make_site(name="Theirs", origins=("https://theirs.example",))
    mine, other = make_scan(site, suggestions=SUGGESTIONS), make_scan(theirs, suggestions=SUGGESTIONS)
    given(client, site, SiteRole.BANNER)
    assert 'id="apply-suggestions"' in client.get(DETAIL.format(mine.pk)).content.decode()
    assert client.post(APPLY.format(mine.pk)).status_code == 302
    assert "_tt_id" in Category.objects.get(site=site, key="marketing").cookie_patterns
    assert client.post(APPLY.format(other.pk)).status_code == 404
    assert "_tt_id" not in Category.objects.get(site=theirs, key="marketing").cookie_patterns


def test_request_scan_queues_one_scan_at_a_time_and_starts_its_process(
    site, admin_user, scanner_ready, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        scan = scans.request_scan(site=site, by=admin_user)
    assert (scan.status, scan.trigger, scan.requested_by) == (CookieScan.QUEUED, "admin", admin_user)
    assert scanner_ready == [[sys.executable, "manage.py", "scansite", "--scan", str(scan.pk)]]
    with pytest.raises(ScanRefused, match="already queued"):
        scans.request_scan(site=site, by=admin_user)
    scan.status = CookieScan.RUNNING
    scan.save()
    with pytest.raises(ScanRefused, match="already running"):
        scans.request_scan(site=site, by=admin_user)
    # A scan that has said nothing for an hour is taken for dead.
    CookieScan.objects.filter(pk=scan.pk).update(created_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        again = scans.request_scan(site=site, by=admin_user)
    assert scanner_ready[-1][-1] == str(again.pk)
    scan.refresh_from_db()  # and shown as what it is
    assert scan.status == CookieScan.FAILED and "ended without a result" in scan.error
    other = make_site(name="Other", origins=("https://other.example",))
    scans.request_scan(site=other, by=admin_user)  # another site's scan is no obstacle


def test_the_launcher_starts_the_command_in_its_own_session_beside_manage_py(tmp_path, settings):
    marker = tmp_path / "ran"
    script = f"import os, pathlib; pathlib.Path({str(marker)!r}).write_text(f'{{os.getsid(0)}} {{os.getcwd()}}')"
    scans.launch([sys.executable, "-c", script])
    deadline = time.monotonic() + 10
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline, "the launched process did not run"
        time.sleep(0.05)
    session, cwd = marker.read_text().split(" ", 1)
    assert int(session) != os.getsid(0) and cwd == str(settings.BASE_DIR)


def test_scan_now_on_the_site_page_starts_a_scan_and_shows_the_list(operator, site, scanner_ready):
    page = operator.get(SITE.format(site.pk)).content.decode()
    assert "Cookie scanner" in page and 'name="scan_weekly"' in page
    assert f'formaction="{SCAN_NOW.format(site.pk)}"' in page and "No scan yet." in page
    response = operator.post(SCAN_NOW.format(site.pk))
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?site__id__exact={site.pk}"
    scan = CookieScan.objects.get(site=site)
    assert scan.requested_by.username == "operator"
    listed = operator.get(response["Location"]).content.decode()
    assert "Scan of Shop started" in listed
    refused = operator.post(SCAN_NOW.format(site.pk), follow=True).content.decode()
    assert "already queued" in refused and CookieScan.objects.filter(site=site).count() == 1
    page = operator.get(SITE.format(site.pk)).content.decode()
    assert f'href="{DETAIL.format(scan.pk)}"' in page and ", queued." in page
    assert operator.get(SCAN_NOW.format(site.pk)).status_code == 405


def test_the_site_page_names_the_latest_scans_figures(operator, site):
    make_scan(site, cookies=[cookie("_ga", category="analytics")], findings=[finding("undeclared", "warning", "_ga")])
    page = operator.get(SITE.format(site.pk)).content.decode()
    assert "1 cookies on 1 pages, 0 violations, 1 warnings" in page
    assert f"{LIST}?site__id__exact={site.pk}" in page


def test_scan_now_shows_why_this_server_cannot_scan(operator, site, monkeypatch):
    monkeypatch.setattr(scanner, "browser_available", lambda: MISSING)
    page = operator.get(SITE.format(site.pk)).content.decode()
    assert f"The scanner is not installed on this server: {MISSING}" in page
    assert 'id="scan-now"' not in page
    response = operator.post(SCAN_NOW.format(site.pk), follow=True)
    assert "The scanner is not installed on this server" in response.content.decode()
    assert not CookieScan.objects.exists()


def test_weekly_scans_are_set_on_the_site_form_and_audited(operator, site):
    assert post_change(operator, site, scan_weekly="on").status_code == 302
    site.refresh_from_db()
    assert site.scan_weekly
    assert ConfigChange.objects.get(site=site, target="site", action="changed").changes == {
        "scan_weekly": [False, True]
    }
