from django.urls import path

from consent.widget import views

urlpatterns = [
    path("cmp/regime.js", views.regime_script_view, name="widget-regime"),
    path("cmp/<slug:site_key>.js", views.widget_script, name="widget"),
    path("cmp/<slug:site_key>/consent-mode.js", views.consent_mode_script, name="consent-mode"),
    path("cmp/<slug:site_key>/preview", views.preview_page, name="widget-preview"),
    path("cmp/<slug:site_key>/preview.js", views.preview_script, name="widget-preview-script"),
    path(".well-known/gpc.json", views.gpc_declaration, name="gpc-declaration"),
    path("demo/", views.demo_page, name="demo"),
    path("", views.home, name="home"),
]
