from django.urls import path

from consent.api import impressions, receipts, schema, views  # noqa: F401  (schema registers the auth scheme)

app_name = "api"

urlpatterns = [
    path("sites/<slug:site_key>/config", views.ConfigView.as_view(), name="config"),
    path("sites/<slug:site_key>/cookies", views.CookiesView.as_view(), name="cookies"),
    path("sites/<slug:site_key>/policies", views.PolicyListView.as_view(), name="policies"),
    path("sites/<slug:site_key>/consents", views.ConsentCreateView.as_view(), name="consents"),
    path("sites/<slug:site_key>/consents/check", views.BatchCheckView.as_view(), name="check"),
    path("sites/<slug:site_key>/consents/<str:consent_id>", views.ConsentDetailView.as_view(), name="consent"),
    path(
        "sites/<slug:site_key>/consents/<str:consent_id>/categories/<str:category>",
        views.CategoryCheckView.as_view(),
        name="category",
    ),
    path("sites/<slug:site_key>/consents/<str:consent_id>/history", views.HistoryView.as_view(), name="history"),
    path("sites/<slug:site_key>/consents/<str:consent_id>/forget", views.ForgetView.as_view(), name="forget"),
    path("sites/<slug:site_key>/consents/<str:consent_id>/token", views.VisitorTokenView.as_view(), name="token"),
    path("sites/<slug:site_key>/consents/<str:consent_id>/export", views.ExportView.as_view(), name="export"),
    path("sites/<slug:site_key>/impressions", impressions.ImpressionView.as_view(), name="impressions"),
    path("sites/<slug:site_key>/consents/<str:consent_id>/receipt", receipts.ReceiptView.as_view(), name="receipt"),
]
