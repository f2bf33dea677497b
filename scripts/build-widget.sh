#!/usr/bin/env bash
# Builds the widget: static/cmp/src/*.js -> two minified IIFEs in static/cmp/ by default (or in $1):
# cmp.js, the widget, and consent-mode.js, its synchronous Consent Mode stub.
# The bundles are committed, so the server needs no node; tests/test_widget_bundle.py checks they are current.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x node_modules/.bin/esbuild ]] || npm ci --silent --no-audit --no-fund
out=${1:-static/cmp}
for entry in main:cmp consent-mode:consent-mode; do
  node_modules/.bin/esbuild "static/cmp/src/${entry%%:*}.js" --bundle --minify --format=iife --target=es2020 \
    --charset=utf8 --legal-comments=none --log-level=warning --outfile="$out/${entry##*:}.js"
done
