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
    path("", include("core.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),  # /accounts/profile/ and /dashboard/...
    path("charities/", include("charities.urls")),
    path("", include("subscriptions.urls")),
    path("", include("distributions.urls")),
    path("reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
