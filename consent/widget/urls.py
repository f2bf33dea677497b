from django.urls import path

from consent.widget import views

urlpatterns = [
    path("cmp/<str:site_key>.js", views.widget_script, name="widget"),
    path("demo/", views.demo_page, name="demo"),
    path("", views.home, name="home"),
]
