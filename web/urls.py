from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("transparency/", views.transparency, name="transparency"),
    path("transparency/<str:week>/", views.transparency_week, name="transparency_week"),
    path("transparency/<str:week>.json", views.transparency_json, name="transparency_json"),
    path(
        "transparency/<str:week>-needs.csv",
        views.transparency_needs_csv,
        name="transparency_needs_csv",
    ),
    path("transparency/<str:week>-rows.csv", views.transparency_rows, name="transparency_rows"),
]
