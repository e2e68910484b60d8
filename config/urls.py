from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Hometown Fund administration"
admin.site.site_title = "Hometown Fund admin"
admin.site.index_title = "Vetting, needs and the money ledger"

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
