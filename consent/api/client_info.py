"""What a request tells about its client: IP (behind trusted proxies), country, GPC."""

from django.conf import settings


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
