from django.urls import path

from . import views

app_name = "reports"

# Included at the site root: the dashboard kept the URLs it had when it lived in accounts.
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/history.csv", views.history_csv, name="history_csv"),
    path("dashboard/statement/<int:year>/", views.statement, name="statement"),
    path("reports/", views.report_list, name="list"),
    path("reports/<int:pk>/", views.report_detail, name="detail"),
]
