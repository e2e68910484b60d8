"""This app's pages in the charity portal, included by web/portal_urls.py into the
`portal` namespace under /portal/. Each takes `charity_id` and is wrapped in
charities.portal.member_required (or owner_required); `join` (an invitation link) is for
a signed-in user who is not a member yet, and its signed token is checked instead."""

from django.urls import path

from . import portal_views

urlpatterns: list = [
    path("<int:charity_id>/profile/", portal_views.profile, name="profile"),
    path("<int:charity_id>/members/", portal_views.members, name="members"),
    path("<int:charity_id>/members/invite/", portal_views.invite, name="member_invite"),
    path("<int:charity_id>/members/role/", portal_views.member_role, name="member_role"),
    path("<int:charity_id>/members/remove/", portal_views.member_remove, name="member_remove"),
    path("join/<str:token>/", portal_views.join, name="join"),
]
