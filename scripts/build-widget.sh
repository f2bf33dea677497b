#!/usr/bin/env bash
# Builds the widget: static/cmp/src/*.js -> minified IIFEs in static/cmp/ by default (or in $1):
# cmp.js, the widget; consent-mode.js, its synchronous Consent Mode stub; regime.js, the opt-out and
# notice regimes' UI and the IAB's GPP API (static/cmp/src/regime/), which the widget loads for the
# visitors under them. The widget's modules that regime.js shares read the config the widget hands
# it (regime/host.js) in place of __CMP_CONFIG__: the server inlines no config into it.
# The bundles are committed, so the server needs no node; tests/test_widget_bundle.py checks they are current.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x node_modules/.bin/esbuild ]] || npm ci --silent --no-audit --no-fund
out=${1:-static/cmp}
build() {
  node_modules/.bin/esbuild "static/cmp/src/$1.js" --bundle --minify --format=iife --target=es2020 \
    --charset=utf8 --legal-comments=none --log-level=warning --outfile="$out/$2.js" "${@:3}"
}
build main cmp
build consent-mode consent-mode
build regime/main regime --define:__CMP_CONFIG__=document.currentScript.host.config \
  '--banner:js=/*! Includes @iabgpp/cmpapi, Apache-2.0: static/cmp/THIRD-PARTY-NOTICES.md */'
