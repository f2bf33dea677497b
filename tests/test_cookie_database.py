"""Cookie name patterns: `*` matches any run of characters, in time linear in the name (the widget
matches the same way: tests/js/cookie.test.js)."""

import subprocess
import sys

import pytest

from consent.services.cookie_database import classify_cookie, matches_pattern

CASES = [
    ("_gid", "_gid", True),
    ("_gid_x", "_gid", False),
    ("_ga", "_ga*", True),
    ("_ga_ABC123", "_ga_*", True),
    ("x_ga", "_ga*", False),
    ("", "*", True),
    ("ac", "a*c", True),
    ("ab", "a*c", False),
    ("aXbYc", "a*b*c", True),
    ("acb", "a*b*c", False),
    ("abab", "a*ab", True),
    ("ab", "a*ab", False),
    ("a.b", "a.b", True),
    ("axb", "a.b", False),
    ("(x)", "(*)", True),
    ("ab", "a**b", True),
]


@pytest.mark.parametrize(("name", "pattern", "expected"), CASES)
def test_patterns(name, pattern, expected):
    assert matches_pattern(name, pattern) is expected


def test_many_stars_on_a_long_name_do_not_backtrack():
    """fnmatch or a regular expression backtracks on `a*a*...*b`; run in a process of its own so
    that a regression shows as a failure (killed after 30 s) rather than a suite that never ends."""
    code = (
        "from consent.services.cookie_database import matches_pattern as m\n"
        "p = 'a*' * 40 + 'b'\n"
        "assert m('a' * 5000, p) is False and m('a' * 5000 + 'b', p) is True\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_cookies_are_classified_by_the_open_cookie_database():
    assert classify_cookie("_ga").category == "analytics"
    assert classify_cookie("_ga_XYZ123").category == "analytics"
    assert classify_cookie("no-such-cookie-anywhere") is None
