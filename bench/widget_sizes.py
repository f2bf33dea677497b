"""What each visitor downloads, per regime: the widget's script with a one-language config, and
what the opt-out regime loads beside it. gzip -9, as tests/test_widget_bundle.py measures.

    .venv/bin/python bench/widget_sizes.py

Runs on a throwaway SQLite database; prints a Markdown table (docs/performance.md).
"""

import gzip
import tempfile
from pathlib import Path

from project import setup_django  # bench/project.py

ROOT = Path(__file__).resolve().parent.parent
setup_django(
    f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3",
    migrate=True,
    CMP_COUNTRY_HEADER="HTTP_X_COUNTRY",
    CMP_REGION_HEADER="HTTP_X_REGION",
    ALLOWED_HOSTS="testserver",
)

from django.test import Client  # noqa: E402

from consent.services.sites import create_site  # noqa: E402


def gzip9(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=9))


def main() -> None:
    site = create_site(name="Shop", origins=["https://shop.example"], policy_url="https://shop.example/cookies")
    client = Client()
    rows = []
    for label, headers in (
        ("EU visitor (DE): opt-in banner", {"X-Country": "DE"}),
        ("Unknown region: opt-in banner", {}),
        ("California (US-CA): opt-out", {"X-Country": "US", "X-Region": "CA"}),
    ):
        response = client.get(f"/cmp/{site.key}.js", headers=headers)
        assert response.status_code == 200, response.status_code
        script = response.content
        rows.append((label, "widget + config", gzip9(script)))
        if b'"regimeScript"' in script:
            rows.append(
                (label, "+ regime.js (opt-out UI, IAB GPP)", gzip9((ROOT / "static/cmp/regime.js").read_bytes()))
            )
    rows.append(
        ("Sites with Google tags", "+ Consent Mode stub", gzip9(client.get(f"/cmp/{site.key}/consent-mode.js").content))
    )
    print("| visitor | file | gzip -9 bytes |")
    print("| --- | --- | ---: |")
    for label, what, size in rows:
        print(f"| {label} | {what} | {size:,} |")


if __name__ == "__main__":
    main()
