"""This app's pages in the charity portal, included by web/portal_urls.py into the
`portal` namespace under /portal/. Each takes `charity_id` and is wrapped in
charities.portal.member_required (or owner_required)."""

urlpatterns: list = []
