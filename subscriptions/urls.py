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
    path("subscriptions/<int:pk>/skip/", views.skip, name="skip"),
    path("subscriptions/<int:pk>/pause-until/", views.pause_until, name="pause_until"),
    # Manage from any email: the signed token is the credential (subscriptions.links).
    path("manage/<str:token>/", views.manage, name="manage"),
    path("manage/<str:token>/pause/", views.manage_pause, name="manage_pause"),
    path("manage/<str:token>/resume/", views.manage_resume, name="manage_resume"),
    path("manage/<str:token>/skip/", views.manage_skip, name="manage_skip"),
    path("manage/<str:token>/pause-until/", views.manage_pause_until, name="manage_pause_until"),
    path("manage/<str:token>/amount/", views.manage_amount, name="manage_amount"),
    path("manage/<str:token>/cancel/", views.manage_cancel, name="manage_cancel"),
    path("billing/portal/", views.billing_portal, name="billing_portal"),
    path("stripe/webhook/", views.stripe_webhook, name="webhook"),
]
