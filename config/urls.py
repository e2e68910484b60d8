from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

admin.site.site_header = "Hometown Fund administration"
admin.site.site_title = "Hometown Fund admin"
admin.site.index_title = "Vetting, needs and the money ledger"
# Staff sign in through allauth's login, so the admin shares its rate limits on guessing
# (ACCOUNT_RATE_LIMITS) and its email verification, instead of a second, unthrottled form.
admin.site.login = login_required(admin.site.login)

urlpatterns = [
    path("", include("web.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),  # /accounts/profile/
    path("charities/", include("web.charity_urls")),
    path("portal/", include("web.portal_urls")),  # charity members (charities.portal)
    path("", include("subscriptions.urls")),
    path("", include("reports.urls")),  # /dashboard/... and /reports/...
    path("", include("payouts.urls")),  # /payouts/statement/... (staff)
    # Before the admin's own URLs, whose catch-all would answer 404 for it.
    path("admin/", include("payouts.admin_urls")),  # /admin/payouts/summary/
    path("admin/", include("web.admin_urls")),  # /admin/money/held/, /admin/money/preview-week/
    path("admin/", admin.site.urls),
]

# Uploaded logos (MEDIA_ROOT) in development; static() adds nothing unless DEBUG. Not
# whitenoise: it indexes files at start-up and would not see a logo uploaded afterwards.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "web.views.page_not_found"
handler500 = "web.views.server_error"
