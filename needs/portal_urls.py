"""This app's pages in the charity portal, included by web/portal_urls.py into the
`portal` namespace under /portal/. Each takes `charity_id` and is wrapped in
charities.portal.member_required (or owner_required)."""

from django.urls import path

from . import portal_views

urlpatterns: list = [
    path("<int:charity_id>/needs/", portal_views.needs, name="needs"),
    path("<int:charity_id>/needs/save/", portal_views.need_save, name="need_save"),
    path("<int:charity_id>/needs/confirm/", portal_views.need_confirm, name="need_confirm"),
    path("<int:charity_id>/needs/close/", portal_views.need_close, name="need_close"),
]
