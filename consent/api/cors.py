"""CORS decided per site at request time: only a site's registered origins may call its
public endpoints from a browser."""

import re

from corsheaders.signals import check_request_enabled
from django.dispatch import receiver

from consent.models import normalise_origin
from consent.services.errors import UnknownSite
from consent.services.sites import site_snapshot

PUBLIC_PATH = re.compile(
    r"^/api/v1/sites/(?P<site_key>[\w-]+)/(config|consents|policies|impressions|consents/[\w-]+/(forget|receipt))$"
)


def origin_allowed(site_key: str, origin: str) -> bool:
    try:
        return normalise_origin(origin) in site_snapshot(site_key).origins
    except (UnknownSite, ValueError):
        return False


@receiver(check_request_enabled)
def cors_allow_site_origins(sender, request, **kwargs):
    match = PUBLIC_PATH.match(request.path)
    origin = request.headers.get("Origin")
    return bool(match and origin and origin_allowed(match["site_key"], origin))
