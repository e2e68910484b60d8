from django.shortcuts import render
from django.views.decorators.http import require_safe

from .selectors import get_platform_figures


@require_safe
def home(request):
    return render(request, "core/home.html", {"figures": get_platform_figures()})


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors that touch the database: this page must render when it is down.
    from django.http import HttpResponseServerError
    from django.template import loader

    return HttpResponseServerError(loader.get_template("500.html").render())
