#!/usr/bin/env bash
# Builds the widget: static/cmp/src/*.js -> one minified IIFE, static/cmp/cmp.js by default (or $1).
# The bundle is committed, so the server needs no node; tests/test_widget_bundle.py checks it is current.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x node_modules/.bin/esbuild ]] || npm ci --silent --no-audit --no-fund
node_modules/.bin/esbuild static/cmp/src/main.js --bundle --minify --format=iife --target=es2020 \
  --charset=utf8 --legal-comments=none --log-level=warning --outfile="${1:-static/cmp/cmp.js}"
