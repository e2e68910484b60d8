from django.urls import path

from . import views

app_name = "payouts"

urlpatterns = [
    path(
        "payouts/statement/<int:charity_id>/<str:period>/",
        views.statement,
        name="statement",
    ),
]
