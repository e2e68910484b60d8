"""The site's URLs plus /bench/floor/: a minimal Django template view (no database), the
floor that benchmarks/web.py measures beside the real pages on the same server."""

from django.template.response import TemplateResponse
from django.urls import include, path


def floor(request):
    return TemplateResponse(request, "bench_floor.html", {"greeting": "Hello"})


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("config.urls")),
]
