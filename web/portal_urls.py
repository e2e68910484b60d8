"""The charity portal, /portal/ (namespace `portal`): its front pages here, each app's own
pages from that app's portal_urls (charities: profile and members; needs: needs; payouts:
money), all behind charities.portal.member_required."""

from django.urls import path

from charities.portal_urls import urlpatterns as charity_pages
from needs.portal_urls import urlpatterns as needs_pages
from payouts.portal_urls import urlpatterns as money_pages

from . import portal

app_name = "portal"

urlpatterns = [
    path("", portal.home, name="home"),
    path("<int:charity_id>/", portal.overview, name="overview"),
    *charity_pages,
    *needs_pages,
    *money_pages,
]
