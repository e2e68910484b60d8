"""This app's pages in the charity portal, included by web/portal_urls.py into the
`portal` namespace under /portal/. Each takes `charity_id` and is wrapped in
charities.portal.member_required (or owner_required)."""

from django.urls import path

from . import portal

urlpatterns: list = [
    path("<int:charity_id>/money/", portal.money, name="money"),
    path("<int:charity_id>/money/statement/", portal.statement, name="money_statement"),
    path("<int:charity_id>/money/stripe/", portal.onboard, name="money_onboard"),
]
