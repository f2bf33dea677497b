#!/usr/bin/env bash
# What the browser tests need beyond Python packages: Debian's Chromium (Playwright's own
# browser download cannot work here) and the npm packages the tests load (axe-core, ...); and
# Debian's HAProxy, the load balancer of tests/test_load_balanced.py.
set -euo pipefail
if [[ ! -x /usr/bin/chromium ]]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [[ ! -x /usr/sbin/haproxy ]]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
if [[ -f package-lock.json ]]; then
  npm ci --silent --no-audit --no-fund
fi
