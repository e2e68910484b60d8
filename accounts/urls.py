from django.urls import path

from . import views

app_name = "accounts"

# Included at the site root (config/urls.py, after allauth's /accounts/ URLs).
urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/profile/zip/", views.zip_lookup, name="zip_lookup"),
]
