"""The committed bundle is what the sources build to, has one config placeholder, and is small."""

import gzip
import json
import shutil
import subprocess
from pathlib import Path

from consent.services.config import banner_config
from consent.widget.views import BUNDLE, CONSENT_MODE_STUB, PLACEHOLDER, REGIME_BUNDLE, widget_source
from tests.factories import make_site

ROOT = Path(__file__).resolve().parents[1]
# Issue 3's target: a one-language site's whole widget under 8 KB with gzip -9.
SIZE_BUDGET = 8 * 1024
# The opt-out and notice regimes' script, loaded only under them: mostly the IAB's GPP library.
REGIME_SIZE_BUDGET = 24 * 1024


def test_the_committed_bundles_are_built_from_the_sources(tmp_path):
    assert shutil.which("node"), "node is needed to build the widget"
    subprocess.run(["bash", "scripts/build-widget.sh", str(tmp_path)], cwd=ROOT, check=True)
    for bundle in (BUNDLE, CONSENT_MODE_STUB, REGIME_BUNDLE):
        built = (tmp_path / bundle.name).read_text()
        assert built == bundle.read_text(), f"{bundle} is stale: run `make widget` and commit it"


def test_the_bundle_is_one_iife_with_one_placeholder_and_no_other_global():
    source = BUNDLE.read_text()
    assert source.startswith("(()=>{") and source.rstrip().endswith("})();")
    assert source.count(PLACEHOLDER) == 1
    assert "eval(" not in source and "new Function" not in source and "innerHTML" not in source
    assert "window.CMP=" in source


def test_the_regime_bundle_is_one_iife_that_takes_no_config():
    notice, source = REGIME_BUNDLE.read_text().split("\n", 1)
    assert "@iabgpp/cmpapi, Apache-2.0" in notice  # the licence notice of the library it bundles
    assert source.startswith("(()=>{") and source.rstrip().endswith("})();")
    assert PLACEHOLDER not in source
    assert "eval(" not in source and "new Function" not in source and "innerHTML" not in source
    assert len(gzip.compress(source.encode(), compresslevel=9)) < REGIME_SIZE_BUDGET


def test_a_one_language_site_fits_the_size_budget(db):
    site = make_site(policy_url="https://shop.example/cookies")
    config = {**banner_config(site.key), "api": "https://cmp.example.com"}
    assert list(config["texts"]) == ["en"]
    script = widget_source(config).encode()
    assert json.dumps(config, separators=(",", ":")).encode() in script
    assert len(gzip.compress(script, compresslevel=9)) < SIZE_BUDGET
