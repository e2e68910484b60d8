"""Staff money pages under /admin/ (config/urls.py includes this before the admin)."""

from django.urls import path

from . import admin_views

urlpatterns = [
    path("payouts/summary/", admin_views.money_summary, name="payouts_money_summary"),
]
