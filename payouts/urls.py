from django.urls import path

from . import views

app_name = "payouts"

urlpatterns = [
    path(
        "payouts/statement/<int:charity_id>/",
        views.statement,
        name="statement",
    ),
]
