"""The public charity pages, under /charities/ and the "charities" namespace their URLs
have always had (web.views composes charities, needs and the ledger for them)."""

from django.urls import path

from charities import views as charity_views

from . import views

app_name = "charities"

urlpatterns = [
    path("", views.charity_list, name="list"),
    path("map/", views.charity_map, name="map"),
    path("apply/", charity_views.apply, name="apply"),
    path("<int:pk>/", views.charity_detail, name="detail"),
]
