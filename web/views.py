"""The site's public pages that compose several apps: the home page, the public charity
pages (list, detail with needs and money received, map), /health/ and the error pages.

Each view reads through selectors (charities, needs, distributions, the figures in
web.selectors) and renders; nothing here writes.
"""

import hashlib

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from charities.categories import CATEGORY_LABELS
from charities.forms import CharityFilterForm
from charities.models import CharityStatus
from charities.selectors import (
    PUBLIC_PAGE_CACHE_SECONDS,
    get_all_charities,
    get_approved_charity,
    get_approved_places,
    get_charities_version,
    get_map_markers,
)
from core.charts import weekly_bar_chart
from core.places import place_key
from distributions.selectors import get_charity_total_received, get_charity_weekly_totals
from needs.selectors import effective_needs, get_needs_by_charity

from . import health as health_checks
from .selectors import get_platform_figures

PAGE_SIZE = 20


@require_safe
def home(request):
    return render(request, "web/home.html", {"figures": get_platform_figures()})


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


@require_safe
def charity_list(request):
    # The listing is the same for everyone who asks the same question, and changes only
    # when charities do: the template caches it under (charities version, query), so a
    # hit costs no query at all; a miss costs city choices (cached), count and one page.
    params = sorted((k, v) for k, values in request.GET.lists() for v in values)
    query_key = hashlib.sha256(repr(params).encode()).hexdigest()[:32]
    return render(
        request,
        "charities/list.html",
        {
            "listing": SimpleLazyObject(lambda: _listing(request.GET)),
            "charities_version": get_charities_version(),
            "query_key": query_key,
            "cache_seconds": PUBLIC_PAGE_CACHE_SECONDS,
        },
    )


def _listing(params) -> dict:
    form = CharityFilterForm(params or None, places=get_approved_places())
    charities = get_all_charities(status=CharityStatus.APPROVED, **form.filters()).only(
        "id", "name", "description", "city", "state", "category"
    )
    page = Paginator(charities, PAGE_SIZE).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    return {"form": form, "page": page, "query": query.urlencode()}


@require_safe
def charity_detail(request, pk):
    charity = get_approved_charity(pk)
    if charity is None:
        raise Http404("No such charity.")
    needs = effective_needs(
        [charity.pk], now=timezone.now(), needs=get_needs_by_charity(charity)
    ).get(charity.pk, [])
    needs.sort(key=lambda n: (-n.urgency_score, -n.funding_gap_cents))
    weeks = get_charity_weekly_totals(charity)
    return render(
        request,
        "charities/detail.html",
        {
            "charity": charity,
            "category_label": CATEGORY_LABELS.get(charity.category, charity.category),
            "needs": needs,
            "weeks": list(reversed(weeks)),
            "total_received": get_charity_total_received(charity),
            "chart": weekly_bar_chart(weeks, title=f"Money {charity.name} received per week"),
            "tiles_url": settings.MAP_TILES_URL,
            "tiles_attribution": settings.MAP_TILES_ATTRIBUTION,
        },
    )


@require_safe
def charity_map(request):
    markers = get_map_markers()
    for marker in markers:
        marker["category"] = CATEGORY_LABELS.get(marker["category"], marker["category"])
        marker["place"] = f"{marker['city']}, {marker['state']}"
    places = sorted({m["place"] for m in markers}, key=lambda p: (p[-2:], p))
    centre = None
    user = request.user
    if user.is_authenticated and user.city:
        # The donor's city: the mean position of its charities.
        home = place_key(user.city, user.state)
        mine = [m for m in markers if place_key(m["city"], m["state"]) == home]
        if mine:
            centre = {
                "lat": sum(m["latitude"] for m in mine) / len(mine),
                "lng": sum(m["longitude"] for m in mine) / len(mine),
                "zoom": 12,
            }
    return render(
        request,
        "charities/map.html",
        {
            "markers": markers,
            "places": places,
            "map_config": {
                "tilesUrl": settings.MAP_TILES_URL,
                "tilesAttribution": settings.MAP_TILES_ATTRIBUTION,
                "centre": centre,
                # The JS swaps the 0 for each charity's id (one reverse() for all markers).
                "detailUrl": reverse("charities:detail", args=[0]),
            },
        },
    )
