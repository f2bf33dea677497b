"""Serves the per-site widget: the built bundle with the site's config inlined, compressed."""

import contextlib
import gzip
import hashlib
import json
import secrets
from functools import cache, lru_cache, wraps
from pathlib import Path

import brotli
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from consent.api.client_info import client_region, vary_on_region
from consent.models import Site
from consent.services.access import may
from consent.services.config import (
    banner_config,
    preview_regime_config,
    regime_config,
    regimes_in_use,
    with_draft,
)
from consent.services.errors import UnknownSite
from consent.services.regimes import OPT_IN

BUNDLE = Path(settings.BASE_DIR) / "static" / "cmp" / "cmp.js"
PLACEHOLDER = "__CMP_CONFIG__"
CONSENT_MODE_STUB = BUNDLE.with_name("consent-mode.js")
CONSENT_MODE_PLACEHOLDER = "__CMP_CONSENT_MODE__"
REGIME_BUNDLE = BUNDLE.with_name("regime.js")
# Browsers and CDNs keep it 5 minutes and may serve it stale for a day while refetching,
# so a configuration change reaches visitors within minutes without a blocking request.
CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"


@cache
def bundle_source() -> str:
    return BUNDLE.read_text(encoding="utf-8")


def api_base(request) -> str:
    return settings.CMP_PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


def embed_tag(base: str, site_key: str) -> str:
    """The one tag a site puts in its <head> (docs/integration.md)."""
    return f'<script src="{base}/cmp/{site_key}.js" async></script>'


def consent_mode_tag(base: str, site_key: str) -> str:
    """The synchronous Consent Mode stub's tag, for sites with Google tags: first in <head>."""
    return f'<script src="{base}/cmp/{site_key}/consent-mode.js"></script>'


def widget_source(config: dict) -> str:
    """The bundle with the config in place of its one placeholder."""
    return bundle_source().replace(PLACEHOLDER, json.dumps(config, separators=(",", ":"), ensure_ascii=False), 1)


def render_widget(site_key: str, base: str, region: str = "") -> dict:
    """The script and its compressed forms for the site's current configuration, for a visitor from
    `region`: the regime it puts them under is inlined, so the first paint needs no second request.
    `varies` says whether another region's visitors get another script."""
    visitor = regime_config(site_key, region)
    config = {**visitor.config, "api": base}
    if visitor.regime != OPT_IN:
        config["regimeScript"] = f"{base}/cmp/regime.js?v={regime_script()['etag'][1:9]}"
    return {**compressed(widget_source(config).encode("utf-8")), "varies": visitor.varies}


@cache
def regime_script() -> dict:
    """The opt-out and notice UI and the IAB GPP API: loaded by the widget only for visitors under
    those regimes, so the opt-in banner stays small. The same for every site."""
    return compressed(REGIME_BUNDLE.read_bytes())


@cache
def consent_mode_source() -> str:
    return CONSENT_MODE_STUB.read_text(encoding="utf-8")


def render_consent_mode(site_key: str) -> dict:
    """The stub with what it needs of the site's config: the oldest policy version a stored decision
    may have, and the Consent Mode settings."""
    config = banner_config(site_key)
    settings_ = {"required": config["policy"]["required"], "mode": config["consentMode"]}
    return compressed(consent_mode_source().replace(CONSENT_MODE_PLACEHOLDER, json.dumps(settings_), 1).encode())


@lru_cache(maxsize=256)
def compressed(body: bytes) -> dict:
    """The body, its ETag and its compressed forms. Kept per process by the body itself, so an entry
    can never be out of date: a changed configuration is another body."""
    return {
        "etag": '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        "identity": body,
        "gzip": gzip.compress(body, compresslevel=9, mtime=0),
        "br": brotli.compress(body, quality=11),
    }


def _encoding(request) -> str:
    accepted = {part.split(";")[0].strip() for part in request.headers.get("Accept-Encoding", "").split(",")}
    if "br" in accepted:
        return "br"
    if "gzip" in accepted:
        return "gzip"
    return "identity"


@require_GET
def widget_script(request, site_key):
    rendered = {}

    def render():
        rendered.update(render_widget(site_key, api_base(request), client_region(request)))
        return rendered

    response = _script(request, render)
    # The script differs by region: caches must keep one copy per region header value. A CDN that
    # ignores Vary would hand one region's regime to all, so unless the operator says theirs keys
    # its cache on them (docs/operations.md), only the browser may keep it.
    varies = vary_on_region(response, rendered.get("varies", False))
    if varies and not settings.CMP_CDN_VARIES_BY_REGION:
        response["Cache-Control"] = CACHE_CONTROL.replace("public", "private")
    return response


@require_GET
def regime_script_view(request):
    response = _script(request, regime_script)
    # Its URL names its version (?v=), so it never changes under a cached copy.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@require_GET
def consent_mode_script(request, site_key):
    return _script(request, lambda: render_consent_mode(site_key))


def _script(request, render):
    """A script of ours, compressed as the browser accepts, revalidated by its ETag."""
    try:
        rendered = render()
    except UnknownSite as exc:
        response = HttpResponse(
            f"/* {exc.message} */\n".encode(), status=404, content_type="application/javascript; charset=utf-8"
        )
        response["Cache-Control"] = "no-store"
        return response
    if request.headers.get("If-None-Match") == rendered["etag"]:
        response = HttpResponseNotModified()
    else:
        encoding = _encoding(request)
        response = HttpResponse(rendered[encoding], content_type="application/javascript; charset=utf-8")
        if encoding != "identity":
            response["Content-Encoding"] = encoding
    response["ETag"] = rendered["etag"]
    response["Cache-Control"] = CACHE_CONTROL
    response["Access-Control-Allow-Origin"] = "*"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


def strict_csp(nonce: str) -> str:
    """A strict Content-Security-Policy: only scripts carrying the page's nonce, and what they load."""
    return f"script-src 'nonce-{nonce}' 'strict-dynamic'; object-src 'none'; base-uri 'none'"


def demo_page(request):
    """A sample shop that embeds the widget like any customer site, with blocked trackers,
    under a strict CSP to show the widget needs no 'unsafe-inline'."""
    site = Site.objects.filter(name="Demo shop").first()
    nonce = secrets.token_urlsafe(16)
    response = render(request, "demo/shop.html", {"site": site, "nonce": nonce})
    response["Content-Security-Policy"] = strict_csp(nonce)
    return response


def admin_only(view):
    """As the admin's own pages: staff signed in with their second factor (CMP_STAFF_2FA)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return admin.site.admin_view(view)(request, *args, **kwargs)

    return wrapped


@admin_only
def preview_page(request, site_key):
    """The operator's preview: the banner on a blank page, ignoring any decision stored in this browser."""
    site = get_object_or_404(Site, key=site_key)
    if not may(request.user, site):
        raise PermissionDenied
    nonce = secrets.token_urlsafe(16)
    regime = request.GET.get("regime", OPT_IN)
    regime = regime if regime in regimes_in_use(site.key) else OPT_IN
    context = {"site": site, "nonce": nonce, "regime": regime, "regimes": regimes_in_use(site.key)}
    response = render(request, "demo/preview.html", context)
    response["Content-Security-Policy"] = strict_csp(nonce)
    response["Cache-Control"] = "no-store"
    return response


@admin_only
def preview_script(request, site_key):
    """The widget in preview mode: it neither reads nor stores a decision and tells the server nothing.
    `?draft=` (JSON) lays the operator's unsaved edits over the saved config (the admin's live preview)."""
    if not may(request.user, Site.objects.filter(key=site_key).values_list("pk", flat=True).first()):
        raise Http404("No such site.")
    base = api_base(request)
    try:
        config = {**preview_regime_config(site_key, request.GET.get("regime", OPT_IN)), "api": base, "preview": True}
    except UnknownSite as exc:
        raise Http404(exc.message) from None
    if config.get("regime", OPT_IN) != OPT_IN:
        config["regimeScript"] = f"{base}/cmp/regime.js?v={regime_script()['etag'][1:9]}"
    with contextlib.suppress(ValueError, RecursionError):  # a malformed draft previews the saved settings
        config = with_draft(config, json.loads(request.GET.get("draft", "null")))
    response = HttpResponse(widget_source(config), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def home(request):
    return render(request, "home.html")


@require_GET
def gpc_declaration(request):
    """/.well-known/gpc.json (Global Privacy Control, section 5): this host honours the signal. A site
    that embeds the widget serves the same file on its own domain (docs/integration.md)."""
    declaration = {"gpc": True}
    if settings.CMP_GPC_LAST_UPDATE:
        declaration["lastUpdate"] = settings.CMP_GPC_LAST_UPDATE
    response = JsonResponse(declaration)
    response["Cache-Control"] = "public, max-age=86400"
    response["Access-Control-Allow-Origin"] = "*"
    return response
