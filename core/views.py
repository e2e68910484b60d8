from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import health as health_checks
from .selectors import get_platform_figures


@require_safe
def home(request):
    return render(request, "core/home.html", {"figures": get_platform_figures()})


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors that touch the database: this page must render when it is down.
    return HttpResponseServerError(loader.get_template("500.html").render())


@never_cache
@require_safe
def health(request):
    """200 with a JSON status per component when healthy, 503 when one is failing."""
    healthy, components = health_checks.health()
    return JsonResponse(
        {"status": "ok" if healthy else "failing", "components": components},
        status=200 if healthy else 503,
    )
