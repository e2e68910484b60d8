"""placeholder until the billing branch lands (names, paths and field names are final)."""

from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscriptions/<int:pk>/pause/", views.pause, name="pause"),
    path("subscriptions/<int:pk>/resume/", views.resume, name="resume"),
    path("subscriptions/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("subscriptions/<int:pk>/amount/", views.change_amount, name="change_amount"),
    path("billing/portal/", views.billing_portal, name="billing_portal"),
]
