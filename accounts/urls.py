from django.urls import path

from . import views

app_name = "accounts"

# Included at the site root (config/urls.py, after allauth's /accounts/ URLs) so that the
# profile and the dashboard share the `accounts` namespace.
urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/profile/zip/", views.zip_lookup, name="zip_lookup"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/history.csv", views.history_csv, name="history_csv"),
    path("dashboard/statement/<int:year>/", views.statement, name="statement"),
]
