"""Staff money pages of the site as a whole, under /admin/ (config/urls.py includes this
before the admin, whose catch-all would answer 404 for them). See web.admin_views."""

from django.urls import path

from . import admin_views

urlpatterns = [
    path("money/held/", admin_views.held_money, name="admin_held_money"),
    path("money/preview-week/", admin_views.preview_week, name="admin_preview_week"),
    path("money/preview-week/run/", admin_views.run_week, name="admin_run_week"),
]
