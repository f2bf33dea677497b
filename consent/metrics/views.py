"""`/metrics`, for Prometheus and the operators, never for the public.

Off (404) until CMP_METRICS_TOKEN is set. Then it answers a scraper that sends
`Authorization: Bearer <CMP_METRICS_TOKEN>`, and a superuser signed in to the admin (with their
second factor); anyone else gets 401 (no or a wrong token) or 403 (signed in, not a superuser).
"""

import hmac

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from consent.api.authentication import bearer_token
from consent.api.errors import error_body
from consent.metrics.exposition import render


@csrf_exempt  # it changes nothing, and a CSRF failure would say that it exists while it is off
def metrics_view(request):
    expected = settings.CMP_METRICS_TOKEN
    if not expected:
        return JsonResponse(error_body("not_found", "Nothing is here."), status=404)
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse(error_body("method_not_allowed", "Scrape with GET."), status=405)
        response["Allow"] = "GET, HEAD"
        return response
    token = bearer_token(request)
    if token is not None:
        if not hmac.compare_digest(token.encode(), expected.encode()):
            return unauthorized("The metrics token is wrong.")
    elif not is_superuser(request):
        if request.user.is_authenticated:
            return JsonResponse(error_body("forbidden", "Only a superuser may read the metrics."), status=403)
        return unauthorized("Send Authorization: Bearer <CMP_METRICS_TOKEN>.")
    body, content_type = render(request.headers.get("Accept"))
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


def is_superuser(request) -> bool:
    """Signed in to the admin as it requires (the second factor included), and a superuser."""
    return admin.site.has_permission(request) and request.user.is_superuser


def unauthorized(message: str) -> JsonResponse:
    response = JsonResponse(error_body("unauthorized", message), status=401)
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response
