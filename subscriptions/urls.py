from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/success/", views.subscribe_success, name="success"),
    path("subscribe/cancelled/", views.subscribe_cancelled, name="cancelled"),
    path("subscriptions/<int:pk>/pause/", views.pause, name="pause"),
    path("subscriptions/<int:pk>/resume/", views.resume, name="resume"),
    path("subscriptions/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("subscriptions/<int:pk>/amount/", views.change_amount, name="change_amount"),
    path("billing/portal/", views.billing_portal, name="billing_portal"),
    path("stripe/webhook/", views.stripe_webhook, name="webhook"),
]
