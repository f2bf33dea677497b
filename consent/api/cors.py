"""CORS decided per site at request time: only a site's registered origins may call its
public endpoints from a browser."""

import re

from rest_framework.permissions import BasePermission

from consent.models import normalise_origin
from consent.services.errors import UnknownSite
from consent.services.sites import site_snapshot

PUBLIC_PATH = re.compile(
    r"^/api/v1/sites/(?P<site_key>[\w-]+)/(config|cookies|consents|policies|impressions|consents/[\w-]+/(forget|receipt|token))$"
)


def origin_allowed(site_key: str, origin: str) -> bool:
    try:
        return normalise_origin(origin) in site_snapshot(site_key).origins
    except (UnknownSite, ValueError):
        return False


def cors_allow_site_origins(sender, request, **kwargs):
    """django-cors-headers asks this (connected in ConsentConfig.ready) for every request."""
    match = PUBLIC_PATH.match(request.path)
    origin = request.headers.get("Origin")
    return bool(match and origin and origin_allowed(match["site_key"], origin))


class RegisteredOrigin(BasePermission):
    """A browser's write must come from one of the site's origins (CORS alone does not stop a
    form post or a non-browser client that sends a foreign Origin)."""

    def has_permission(self, request, view):
        origin = request.headers.get("Origin")
        if origin and not origin_allowed(view.kwargs["site_key"], origin):
            self.message = f"The origin {origin} is not registered for this site."
            return False
        return True
