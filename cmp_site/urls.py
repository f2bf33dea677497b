from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from consent.admin.staff import StaffAdminSite
from consent.metrics.views import metrics_view


def health(request):
    """A constant answer: for load balancers, and the baseline the benchmarks compare against."""
    return JsonResponse({"status": "ok"})


if settings.CMP_STAFF_2FA:
    # The admin (and with it the dashboard and the previews) wants a verified second factor.
    admin.site.__class__ = StaffAdminSite

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("consent.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="schema"), name="docs"),
    path("healthz", health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("consent.widget.urls")),
]

handler400 = "consent.api.errors.bad_request"
handler403 = "consent.api.errors.permission_denied"
handler404 = "consent.api.errors.not_found"
handler500 = "consent.api.errors.server_error"
