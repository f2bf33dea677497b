"""What a request tells about its client: IP (behind trusted proxies), country and region, GPC."""

from django.conf import settings
from django.utils.cache import patch_vary_headers

from consent.models import REGION_CODE


def client_ip(request) -> str:
    """REMOTE_ADDR, or the address the nearest trusted proxy saw."""
    proxies = settings.CMP_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")


def client_country(request) -> str:
    header = settings.CMP_COUNTRY_HEADER
    value = request.META.get(header, "") if header else ""
    return value[:2].upper() if len(value) >= 2 and value[:2].isalpha() else ""


def sends_gpc(request) -> bool:
    return request.headers.get("Sec-GPC", "").strip() == "1"


def _header(name: str) -> str:
    """A META key (HTTP_CF_IPCOUNTRY) as the header a response's Vary names (Cf-Ipcountry)."""
    return "-".join(part.capitalize() for part in name.removeprefix("HTTP_").split("_"))


def region_headers() -> list[str]:
    """The request headers the region is read from, for Vary."""
    return [_header(name) for name in (settings.CMP_COUNTRY_HEADER, settings.CMP_REGION_HEADER) if name]


def client_region(request) -> str:
    """The visitor's region from the headers the operator's CDN or proxy sets (CMP_COUNTRY_HEADER,
    CMP_REGION_HEADER): US-CA, DE, or "" when unknown. Only these trusted headers count, never
    anything the page says."""
    country = request.META.get(settings.CMP_COUNTRY_HEADER, "") if settings.CMP_COUNTRY_HEADER else ""
    country = country.strip().upper()
    # CDNs write XX (unknown) or T1 (Tor) where they do not know.
    if not (len(country) == 2 and country.isalpha()) or country == "XX":
        return ""
    subdivision = request.META.get(settings.CMP_REGION_HEADER, "") if settings.CMP_REGION_HEADER else ""
    subdivision = subdivision.strip().upper()
    if subdivision:
        # Cloudflare, Fastly and CloudFront send the subdivision alone (CA); some proxies the whole code.
        code = subdivision if subdivision.startswith(f"{country}-") else f"{country}-{subdivision}"
        if REGION_CODE.match(code):
            return code
    return country


def vary_on_region(response, varies: bool) -> bool:
    """Name the region headers in the response's Vary where its body depends on them (the site uses
    several regimes and this server reads the headers); whether it does."""
    headers = region_headers()
    if not (varies and headers):
        return False
    patch_vary_headers(response, headers)
    return True
