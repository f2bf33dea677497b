"""What an operator should act on, from a scan's cookies and pages: cookies set before a decision
or after "Reject all" (violations: anything but `authentication`), declared patterns no cookie
matched (a note only for the defaults every new site starts with), cookies no category declares,
cookies nobody knows, pages without the banner and pages that failed; and the declarations to add
("Apply suggestions" in the admin)."""

from consent.models import REQUIRED_CATEGORY
from consent.scanner.classify import Declarations
from consent.services.cookie_database import default_patterns, matches_pattern

SEVERITY_ORDER = {"violation": 0, "warning": 1, "info": 2}


def finding(kind: str, severity: str, message: str, **fields) -> dict:
    return {
        "kind": kind,
        "severity": severity,
        "cookie": fields.get("cookie", ""),
        "category": fields.get("category"),
        "page": fields.get("page", ""),
        "set_by": fields.get("set_by", ""),
        "message": message,
        "suggested_category": fields.get("suggested_category"),
    }


def _by(set_by: str) -> str:
    return f", by {set_by}" if set_by else ""


def _what(cookie: dict) -> str:
    known = cookie["classification"]
    if not known["category"]:
        return f"{cookie['name']} (unknown)"
    provider = f", {known['provider']}" if known["provider"] else ""
    return f"{cookie['name']} ({known['category']}{provider})"


def _remedy(category: str | None) -> str:
    if not category:
        return "Find out what it is for: unless it is strictly necessary, load what sets it only after consent."
    return (
        f"Load what sets it only once {category} is allowed: "
        f'type="text/plain" data-category="{category}" on its script or iframe.'
    )


def cookie_findings(cookies: list[dict], declarations: Declarations) -> list[dict]:
    """Violations, undeclared and unknown cookies, and declared patterns no cookie matched."""
    found = []
    for cookie in cookies:
        known = cookie["classification"]
        category = known["category"]
        common = {"cookie": cookie["name"], "category": category, "suggested_category": category}
        if category != REQUIRED_CATEGORY:
            for step, kind, when in (
                ("before", "set_before_consent", "before the visitor decides"),
                ("rejected", "set_after_reject", 'after the visitor clicked "Reject all"'),
            ):
                seen = cookie["seen"].get(step)
                # Set before any decision, it is set after "Reject all" too: one violation, not two.
                if seen and not (step == "rejected" and "before" in cookie["seen"]):
                    message = f"{_what(cookie)} is set {when}, on {seen['page']}{_by(seen['set_by'])}. "
                    found.append(
                        finding(
                            kind,
                            "violation",
                            message + _remedy(category),
                            page=seen["page"],
                            set_by=seen["set_by"],
                            **common,
                        )
                    )
        first = cookie["seen"][cookie["first_pass"]]
        where = {"page": first["page"], "set_by": first["set_by"]}
        if known["source"] == "database":
            found.append(
                finding(
                    "undeclared",
                    "warning",
                    f"{_what(cookie)} is set on {first['page']}{_by(first['set_by'])}, but no category of the site "
                    f"declares it. The Open Cookie Database says it is {category}: declare it there.",
                    **common,
                    **where,
                )
            )
        elif known["source"] == "unknown":
            found.append(
                finding(
                    "unknown_cookie",
                    "warning",
                    f"{cookie['name']} is set on {first['page']}{_by(first['set_by'])}, and neither the site's "
                    "categories nor the Open Cookie Database know it. Find out what it does and declare it "
                    "in its category.",
                    **common,
                    **where,
                )
            )
    names = [cookie["name"] for cookie in cookies]
    defaults = default_patterns()
    for declared in declarations.patterns:
        if any(matches_pattern(name, declared.pattern) for name in names):
            continue
        # The patterns every new site starts with (the common trackers') are a note, not a warning.
        if declared.pattern in defaults.get(declared.category, ()):
            severity, why = (
                "info",
                "It is one of the defaults a new site starts with: remove it if the site never sets it.",
            )
        else:
            severity, why = "warning", "Remove it if the site no longer sets it, or scan the pages that do."
        found.append(
            finding(
                "declared_never_matched",
                severity,
                f"{declared.category} declares {declared.pattern}, but no page scanned set a cookie it matches. {why}",
                cookie=declared.pattern,
                category=declared.category,
            )
        )
    return found


def page_findings(pages: list[dict]) -> list[dict]:
    """Pages that could not be scanned, and pages on which the banner did not show."""
    found = []
    for page in pages:
        if page["error"]:
            found.append(
                finding("page_error", "warning", f"Could not scan {page['url']}: {page['error']}", page=page["url"])
            )
        elif page["widget"] is False:
            found.append(
                finding(
                    "no_widget",
                    "warning",
                    f'The banner did not show on {page["url"]}, so its "Reject all" and "Accept all" passes '
                    "were not taken. Check that the page embeds the widget's script.",
                    page=page["url"],
                )
            )
    return found


def ordered(findings: list[dict]) -> list[dict]:
    """Violations first, then warnings, then the rest; otherwise in the order found."""
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f["severity"], 3))


def suggestions(cookies: list[dict], categories: set[str]) -> list[dict]:
    """What to add to each category's cookie_patterns and cookie_details: the cookies found that no
    category declares but the Open Cookie Database knows, under a category the site has. A family
    the database knows by a pattern (`_ga_*`) is suggested as the pattern."""
    found: dict[tuple[str, str], dict] = {}
    for cookie in cookies:
        known = cookie["classification"]
        if known["source"] != "database" or known["category"] not in categories:
            continue
        pattern = known["pattern"] if "*" in known["pattern"] else cookie["name"]
        found.setdefault(
            (known["category"], pattern),
            {
                "category": known["category"],
                "pattern": pattern,
                "provider": known["provider"],
                "purpose": known["purpose"],
                "duration": known["retention"],
            },
        )
    return list(found.values())
