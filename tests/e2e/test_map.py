"""The charity map in a real browser (see tests/e2e/conftest.py): many charities share a
few points, as they do when each sits at its ZIP code's centre, and every approved charity
with coordinates can still be reached on the map, by clicking clusters, and from the list
beside it. Map tiles are blocked (no network in tests): the page says so."""

import pytest
from django.urls import reverse

from charities.models import CharityStatus
from tests.e2e.conftest import DESKTOP, SCREENSHOTS, block_other_sites
from tests.factories import CharityFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE_390 = {"width": 390, "height": 844}

# Nine ZIP centroids in three states, and how many charities sit on each: 42 in all.
POINTS = [
    ("Springfield", "VT", 43.2984, -72.4823, 10),
    ("Burlington", "VT", 44.4801, -73.2123, 6),
    ("Montpelier", "VT", 44.2601, -72.5754, 5),
    ("Springfield", "KY", 37.6853, -85.2222, 4),
    ("Louisville", "KY", 38.2542, -85.7594, 4),
    ("Lexington", "KY", 38.0406, -84.5037, 4),
    ("Albany", "NY", 42.6526, -73.7562, 3),
    ("Buffalo", "NY", 42.8864, -78.8784, 3),
    ("Ithaca", "NY", 42.4440, -76.5019, 3),
]
TOTAL = sum(p[4] for p in POINTS)


def zip_centroid_world():
    """42 approved charities on 9 points, plus some that must not be on the map."""
    charities = []
    for city, state, lat, lng, n in POINTS:
        for i in range(n):
            charities.append(
                CharityFactory(
                    name=f"The {city} Community Helpers Number {i + 1} of {state}",
                    city=city,
                    state=state,
                    latitude=lat,
                    longitude=lng,
                )
            )
    CharityFactory(name="Nowhere To Be Seen", latitude=None, longitude=None,
                   coordinates_source=None)  # fmt: skip
    CharityFactory(name="Pending Helpers", verification_status=CharityStatus.PENDING,
                   approved_at=None)  # fmt: skip
    return charities


def open_map(page, path="/charities/map/"):
    page.emulate_media(reduced_motion="reduce")  # the map does not animate: no waiting
    page.goto(path)
    page.wait_for_function("() => !!document.getElementById('charity-map-all').hometownMap")


def icons(page) -> list[dict]:
    """The marker and cluster icons drawn on the map now, with their centres on the
    screen and how many charities each stands for."""
    return page.evaluate(
        """() => [...document.querySelectorAll('#charity-map-all .leaflet-marker-icon')]
            .map(el => {
              const r = el.getBoundingClientRect();
              const cluster = el.classList.contains('marker-cluster');
              return {x: r.x + r.width / 2, y: r.y + r.height / 2, cluster,
                      n: cluster ? parseInt(el.textContent, 10) : 1};
            })"""
    )


def markers_on_map(page) -> int:
    """Charities the map shows: single markers plus the numbers on the clusters."""
    return sum(icon["n"] for icon in icons(page))


def view(page) -> dict:
    return page.evaluate(
        """() => { const m = document.getElementById('charity-map-all').hometownMap.map;
                   const c = m.getCenter();
                   return {lat: c.lat, lng: c.lng, zoom: m.getZoom()}; }"""
    )


def restore(page, where: dict) -> None:
    page.evaluate(
        """(v) => { const m = document.getElementById('charity-map-all').hometownMap.map;
                    m.closePopup(); m.setView([v.lat, v.lng], v.zoom, {animate: false}); }""",
        where,
    )


def popup_links(page) -> list[str]:
    return page.locator(".leaflet-popup-content a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )


def click_icon(page, icon: dict) -> None:
    hit = page.evaluate(
        "([x, y]) => !!document.elementFromPoint(x, y)?.closest('.leaflet-marker-icon')",
        [icon["x"], icon["y"]],
    )
    assert hit, f"an icon at {icon} is covered by something else"
    page.mouse.click(icon["x"], icon["y"])


def explore(page, where: dict, found: dict, depth: int = 0) -> None:
    """Click every icon in this view: a marker's popup links its charity; a cluster on
    one point lists its charities in one popup; any other cluster zooms in, and the new
    view is explored the same way."""
    assert depth < 12, "clusters never parted"
    restore(page, where)
    for icon in icons(page):
        restore(page, where)
        click_icon(page, icon)
        if page.locator(".leaflet-popup-content").count():
            links = popup_links(page)
            assert len(links) == icon["n"], (icon, links)
            for href in links:
                found[href] = found.get(href, 0) + 1
            continue
        closer = view(page)
        assert closer["zoom"] > where["zoom"], f"clicking {icon} neither opened nor zoomed"
        explore(page, closer, found, depth + 1)


def test_every_charity_on_a_few_shared_points_is_reachable_on_the_map(page):
    charities = zip_centroid_world()
    open_map(page)
    assert page.locator("#map-count").text_content() == f"{TOTAL} charities on the map."
    # The clusters' numbers add up to every charity: nothing hides under another pin.
    assert markers_on_map(page) == TOTAL
    assert (
        page.evaluate(
            "document.getElementById('charity-map-all').hometownMap.group.getLayers().length"
        )
        == TOTAL
    )

    found: dict[str, int] = {}
    explore(page, view(page), found)
    expected = {reverse("charities:detail", args=[c.pk]) for c in charities}
    assert set(found) == expected
    assert set(found.values()) == {1}  # each reached once: no point is drawn twice

    # A point shared by ten charities opens one popup that lists all ten.
    restore(page, {"lat": 43.2984, "lng": -72.4823, "zoom": 15})
    [shared] = icons(page)
    assert shared["cluster"] and shared["n"] == 10
    click_icon(page, shared)
    popup = page.locator(".map-popup-list")
    assert popup.locator("strong").text_content() == "10 charities share this point"
    assert "centre of its ZIP code" in popup.text_content()
    page.screenshot(path=str(_shot("map-shared-point")))
    assert page.csp_errors == []


def test_the_list_beside_the_map_has_every_charity_and_shows_each_on_the_map(page):
    charities = zip_centroid_world()
    open_map(page)
    items = page.locator("#map-list li")
    assert items.count() == TOTAL
    hrefs = page.locator("#map-list li a").evaluate_all("a => a.map(x => x.getAttribute('href'))")
    assert set(hrefs) == {reverse("charities:detail", args=[c.pk]) for c in charities}
    assert "Nowhere To Be Seen" not in page.content() and "Pending Helpers" not in page.content()
    # "Show on map" brings each charity's own marker up, spread out of its cluster.
    for charity in charities[::5]:
        page.get_by_role("button", name=f"Show on map: {charity.name}", exact=True).click()
        page.locator(".leaflet-popup-content").wait_for()
        assert popup_links(page) == [reverse("charities:detail", args=[charity.pk])]


def test_the_city_filter_narrows_the_map_and_the_list_and_survives_a_reload(page):
    zip_centroid_world()
    open_map(page)
    page.get_by_label("Show the charities of").select_option("Burlington, VT")
    assert page.locator("#map-count").text_content() == "6 charities on the map."
    assert page.locator("#map-list li:visible").count() == 6
    assert markers_on_map(page) == 6
    assert page.url.endswith("/charities/map/?place=Burlington%2C+VT")
    open_map(page, page.url)  # the server draws the same question
    assert page.locator("#map-list li:visible").count() == 6
    assert markers_on_map(page) == 6
    assert page.get_by_label("Show the charities of").input_value() == "Burlington, VT"


def test_a_place_with_no_charity_on_the_map_says_so(page):
    zip_centroid_world()
    open_map(page, "/charities/map/?place=Springfield, NY")
    notice = page.locator("p.notice[role=status]").first
    assert "We list no charities in Springfield, NY: Springfield is in Kentucky and Vermont." in (
        notice.text_content()
    )
    notice.get_by_role("link", name="Springfield, KY").click()
    page.wait_for_function("() => !!document.getElementById('charity-map-all').hometownMap")
    assert page.locator("#map-count").text_content() == "4 charities on the map."


def test_when_tiles_cannot_load_the_page_says_so(page):
    zip_centroid_world()
    open_map(page)
    notice = page.locator("#map-tiles-notice")
    notice.wait_for(state="visible")
    assert "could not be loaded" in notice.text_content()
    assert page.blocked_requests, "the map asked for no tiles"
    assert all(url.startswith("https://tile.openstreetmap.org/") for url in page.blocked_requests)
    for viewport, name in ((DESKTOP, "map-1280"), (PHONE_390, "map-390")):
        page.set_viewport_size(viewport)
        page.evaluate(
            "(h => { h.map.invalidateSize(); h.showAll(); })"
            "(document.getElementById('charity-map-all').hometownMap)"
        )
        page.screenshot(path=str(_shot(name)), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    # On a phone the list comes after the map.
    map_box = page.locator("#charity-map-all").bounding_box()
    list_box = page.locator("#map-list").bounding_box()
    assert list_box["y"] >= map_box["y"] + map_box["height"]
    assert page.csp_errors == []


def test_without_javascript_the_list_still_has_every_charity(browser, live_server):
    charities = zip_centroid_world()
    context = browser.new_context(
        viewport=DESKTOP, base_url=live_server.url, java_script_enabled=False
    )
    block_other_sites(context, live_server)
    try:
        page = context.new_page()
        page.goto("/charities/map/?place=Albany, NY")
        # (Playwright's text locators skip <noscript>; the rendered text shows it.)
        assert "The map needs JavaScript." in page.locator(".map-main").inner_text()
        visible = page.locator("#map-list li:visible a")
        assert visible.count() == 3
        albany = {
            reverse("charities:detail", args=[c.pk]) for c in charities if c.city == "Albany"
        }
        assert set(visible.evaluate_all("a => a.map(x => x.getAttribute('href'))")) == albany
    finally:
        context.close()


def _shot(name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def test_a_charitys_own_small_map_says_so_when_tiles_do_not_load(page):
    charity = CharityFactory(name="Corner Pantry")
    page.goto(reverse("charities:detail", args=[charity.pk]))
    page.locator("#charity-map-tiles-notice").wait_for(state="visible")
    assert page.blocked_requests
    assert page.csp_errors == []
