"""The site's public pages that compose several apps: the home page, the public charity
pages (list, detail with needs and money received, map), the public weekly ledger
(/transparency/), /health/ and the error pages.

Each view reads through selectors (charities, needs, distributions, the figures in
web.selectors) and renders; nothing here writes.
"""

import csv
import datetime as dt
import hashlib
import hmac
import io
import json

from django.conf import settings
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from charities.categories import CATEGORY_LABELS
from charities.forms import CharityFilterForm, resolve_place
from charities.models import CharityStatus
from charities.selectors import (
    PUBLIC_PAGE_CACHE_SECONDS,
    get_all_charities,
    get_approved_charity,
    get_charities_version,
    get_filter_choices,
    get_map_markers,
)
from core.charts import weekly_bar_chart
from core.places import format_place, place_key
from distributions.selectors import (
    get_charity_total_received,
    get_charity_weekly_totals,
    get_published_runs,
    get_run,
    get_run_cities,
    subscription_token,
    week_rows,
)
from needs.selectors import effective_needs, get_needs_by_charity

from . import health as health_checks
from .selectors import get_platform_figures

PAGE_SIZE = 20


@require_safe
def home(request):
    return render(request, "web/home.html", {"figures": get_platform_figures()})


@require_safe
def favicon(request):
    """/favicon.ico, which browsers and feed readers ask for whatever the page says: the
    site's SVG icon (static/favicon.svg, also linked from every page), not a 404."""
    response = HttpResponseRedirect(static("favicon.svg"))
    patch_cache_control(response, public=True, max_age=24 * 3600)
    return response


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors that touch the database: this page must render when it is down.
    return HttpResponseServerError(loader.get_template("500.html").render())


@never_cache
@require_safe
def health(request):
    """200 when healthy, 503 when a component is failing. The JSON status per component
    (which names the database vendor and the broker mode) only for staff or a request
    carrying HEALTH_TOKEN; anyone else learns the status alone."""
    healthy, components = health_checks.health()
    body = {"status": "ok" if healthy else "failing"}
    if _may_see_health_details(request, database_up=components["database"]["status"] == "ok"):
        body["components"] = components
    return JsonResponse(body, status=200 if healthy else 503)


def _may_see_health_details(request, *, database_up: bool) -> bool:
    sent = request.headers.get("X-Health-Token", "")
    if settings.HEALTH_TOKEN and sent:
        return hmac.compare_digest(sent.encode(), settings.HEALTH_TOKEN.encode())
    # Who is logged in is read from the database: with it down, only the token shows why.
    return database_up and request.user.is_staff


FILTER_PARAMS = ("q", "place", "state", "category", "page")


@require_safe
def charity_list(request):
    # The listing is the same for everyone who asks the same question, and changes only
    # when charities do: the template caches it under (charities version, query), so a
    # hit costs no query at all; a miss costs the filter choices (cached), count and one
    # page. Only the parameters the page reads make the question, so junk added to a URL
    # does not make new cache entries.
    params = sorted((k, v) for k in FILTER_PARAMS for v in request.GET.getlist(k))
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
    form = CharityFilterForm(params or None, choices=get_filter_choices())
    if form.answerable:
        charities = get_all_charities(status=CharityStatus.APPROVED, **form.filters())
    else:
        charities = get_all_charities(status=CharityStatus.APPROVED).none()
    charities = charities.only("id", "name", "description", "city", "state", "category")
    page = Paginator(charities, PAGE_SIZE).get_page(params.get("page"))
    query = QueryDict(mutable=True)
    for key in FILTER_PARAMS[:-1]:
        if params.get(key):
            query[key] = params.get(key)
    problems = [
        {
            "message": problem.message,
            "links": [(label, urlencode(args)) for label, args in problem.suggestions],
        }
        for problem in form.problems
    ]
    return {"form": form, "page": page, "query": query.urlencode(), "problems": problems}


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
    """Every approved charity with coordinates: markers clustered on a Leaflet map
    (static/js/charities-map.js) and, beside it, the same charities as a list of links that
    needs no script. `?place=City, ST` shows one city (the script switches cities without
    a reload); a place with no charity on the map is told, with the cities of that name."""
    markers = get_map_markers()
    pairs: dict[tuple[str, str], tuple[str, str]] = {}  # one spelling per city
    for marker in markers:
        marker["category"] = CATEGORY_LABELS.get(marker["category"], marker["category"])
        pair = pairs.setdefault(place_key(marker["city"], marker["state"]),
                                (marker["city"], marker["state"]))  # fmt: skip
        marker["place"] = format_place(*pair)
    places = sorted((format_place(*pair) for pair in pairs.values()), key=lambda p: (p[-2:], p))
    chosen, problem = "", None
    asked = request.GET.get("place", "")
    if asked.strip():
        pair, problem = resolve_place(asked, list(pairs.values()))
        chosen = format_place(*pair) if pair else ""
    centre = None
    user = request.user
    if user.is_authenticated and user.city and not chosen:
        # The donor's city: the mean position of its charities.
        home = place_key(user.city, user.state)
        mine = [m for m in markers if place_key(m["city"], m["state"]) == home]
        if mine:
            centre = {
                "lat": sum(m["latitude"] for m in mine) / len(mine),
                "lng": sum(m["longitude"] for m in mine) / len(mine),
                "zoom": 12,
            }
    shown = [m for m in markers if not chosen or m["place"] == chosen]
    return render(
        request,
        "charities/map.html",
        {
            "markers": markers,
            "shown_count": len(shown),
            "places": places,
            "chosen": chosen,
            "problem": problem
            and {
                "message": problem.message,
                # The map filters by city only: its links are the places to show.
                "links": [
                    (label, urlencode(args))
                    for label, args in problem.suggestions
                    if set(args) == {"place"}
                ],
            },
            "map_config": {
                "tilesUrl": settings.MAP_TILES_URL,
                "tilesAttribution": settings.MAP_TILES_ATTRIBUTION,
                "centre": centre,
                "place": chosen,
                # The JS swaps the 0 for each charity's id (one reverse() for all markers).
                "detailUrl": reverse("charities:detail", args=[0]),
            },
        },
    )


# --- /transparency/: the public weekly ledger ----------------------------------------


def _published_run(week: str):
    try:
        week_start = dt.date.fromisoformat(week)
    except ValueError:
        raise Http404("No such week.") from None
    run = get_run(week_start) if week_start.weekday() == 0 else None
    if run is None or run.status == run.Status.RUNNING:
        raise Http404("No published run for that week.")
    return run


def _public_inputs(run) -> list[dict]:
    """Each place's line and passes as the public may read them: subscriptions only as
    the week's tokens, every other figure as the run recorded it."""
    places = []
    for line in get_run_cities(run):
        passes = []
        for number, inputs in enumerate(line.inputs, 1):
            passes.append(
                {
                    "pass": number,
                    "at": inputs["at"],
                    "pool_cents": inputs["pool_cents"],
                    "subscriptions": [
                        [subscription_token(run.salt, sid), cents]
                        for sid, cents in inputs["subscriptions"]
                    ],
                    "charities": inputs["charities"],
                }
            )
        places.append(
            {
                "place": line.place,
                "status": line.status,
                "pooled_cents": line.pooled_cents,
                "distributed_cents": line.distributed_cents,
                "held_cents": line.held_cents,
                "hold_reason": line.hold_reason,
                "why": line.why,
                "passes": passes,
            }
        )
    return places


def _charity_totals(places: list[dict]) -> dict[str, list[dict]]:
    """place -> [{charity_id, name, amount_cents}] over the place's passes, largest first."""
    out = {}
    for place in places:
        totals: dict[int, dict] = {}
        for one_pass in place["passes"]:
            for c in one_pass["charities"]:
                blank = {"charity_id": c["charity_id"], "name": c["name"], "amount_cents": 0}
                entry = totals.setdefault(c["charity_id"], blank)
                entry["amount_cents"] += c["amount_cents"]
        by_amount = sorted(totals.values(), key=lambda e: (-e["amount_cents"], e["charity_id"]))
        out[place["place"]] = by_amount
    return out


@require_safe
def transparency(request):
    return render(request, "web/transparency.html", {"runs": list(get_published_runs()[:104])})


@require_safe
def transparency_week(request, week: str):
    run = _published_run(week)
    places = _public_inputs(run)
    totals = _charity_totals(places)
    for place in places:
        place["totals"] = totals[place["place"]]
    return render(request, "web/transparency_week.html", {"run": run, "places": places})


@require_safe
def transparency_json(request, week: str):
    run = _published_run(week)
    places = _public_inputs(run)
    body = {
        "week_start": run.week_start.isoformat(),
        "status": run.status,
        "pooled_cents": run.pooled_cents,
        "distributed_cents": run.distributed_cents,
        "held_cents": run.held_cents,
        "rows": run.distributions_count,
        "rows_sha256": run.rows_sha256,
        "rows_url": request.build_absolute_uri(
            reverse("web:transparency_rows", args=[run.week_start.isoformat()])
        ),
        "places": places,
        "charity_totals": _charity_totals(places),
    }
    response = HttpResponse(json.dumps(body, indent=1), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="hometown-{week}.json"'
    return response


NEEDS_CSV_HEADER = [
    "place", "pass", "charity_id", "charity", "charity_weight", "charity_cap_cents",
    "charity_spread", "charity_amount_cents", "need_id", "category", "source", "urgency",
    "reported_gap_cents", "received_cents", "remaining_gap_cents", "reported_at",
    "credited_cents",
]  # fmt: skip


@require_safe
def transparency_needs_csv(request, week: str):
    run = _published_run(week)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(NEEDS_CSV_HEADER)
    for place in _public_inputs(run):
        for one_pass in place["passes"]:
            for c in one_pass["charities"]:
                for n in c["needs"]:
                    writer.writerow([
                        place["place"], one_pass["pass"], c["charity_id"], c["name"],
                        c["weight"], c["gap_cents"], c["spread"], c["amount_cents"],
                        n["need_id"], n["category"], n["source"], n["urgency"],
                        n["reported_gap_cents"], n["received_cents"], n["remaining_gap_cents"],
                        n["reported_at"], n["credited_cents"],
                    ])  # fmt: skip
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="hometown-{week}-needs.csv"'
    return response


@require_safe
def transparency_rows(request, week: str):
    """The week's rows exactly as sealed: `sha256sum` of this file is the published
    checksum."""
    run = _published_run(week)
    stream = (f"{token},{charity_id},{cents}\n" for token, charity_id, cents in week_rows(run))
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="hometown-{week}-rows.csv"'
    return response
