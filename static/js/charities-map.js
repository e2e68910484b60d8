/* /charities/map/: every approved charity with coordinates, clustered (Leaflet.markercluster,
   vendored under static/vendor/). Many charities share one point (a ZIP code's centre), so:
   - a cluster's number says how many charities it holds; clicking it zooms in, or spreads
     its markers when zooming cannot part them;
   - a cluster whose charities all sit on one point opens one popup listing them all;
   - the list beside the map (server-rendered, works without script) follows the city
     filter, and each entry gets a "Show on map" button;
   - when tiles cannot load, a notice says so (the markers and the list still work).
   Data comes from json_script blocks (no inline script, so the CSP holds); popups are built
   with DOM nodes and textContent, never HTML strings, so names cannot inject markup.
   With prefers-reduced-motion the map does not animate. The element carries the map, the
   cluster group and the markers by charity id as `hometownMap`, for the browser tests. */
(function () {
  "use strict";
  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function node(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text) { el.textContent = text; }
    return el;
  }

  function charityLink(data, config) {
    var link = node("a", "", data.name);
    link.href = config.detailUrl.replace("/0/", "/" + data.id + "/");
    return link;
  }

  function popupFor(data, config) {
    var box = node("div", "map-popup");
    var strong = node("strong");
    strong.appendChild(charityLink(data, config));
    box.appendChild(strong);
    box.appendChild(node("div", "", data.place + " · " + data.category));
    if (data.blurb) {  /* the charity's gift line, or its mission's first sentence */
      box.appendChild(node("p", "map-popup-blurb", data.blurb));
    }
    if (data.approximate) {
      box.appendChild(node("p", "map-popup-note", "Shown at the centre of its ZIP code."));
    }
    return box;
  }

  function listPopup(items, config) {
    var box = node("div", "map-popup map-popup-list");
    box.appendChild(node("strong", "", items.length + " charities share this point"));
    if (items.every(function (d) { return d.approximate; })) {
      box.appendChild(node("p", "map-popup-note", "Each is shown at the centre of its ZIP code."));
    }
    var list = node("ul");
    items.slice().sort(function (a, b) { return a.name.localeCompare(b.name, undefined, { numeric: true }); })
      .forEach(function (d) {
        var li = node("li");
        li.appendChild(charityLink(d, config));
        li.appendChild(node("span", "map-popup-meta", " " + d.category));
        list.appendChild(li);
      });
    box.appendChild(list);
    return box;
  }

  function samePoint(markers) {
    var first = markers[0].getLatLng();
    return markers.every(function (m) { return m.getLatLng().equals(first); });
  }

  function boot() {
    var el = document.getElementById("charity-map-all");
    var data = readJson("map-markers") || [];
    var config = readJson("map-config") || {};
    var select = document.getElementById("map-city");
    var form = document.getElementById("map-filter");
    var count = document.getElementById("map-count");
    var list = document.getElementById("map-list");
    var tilesNotice = document.getElementById("map-tiles-notice");
    if (!el || typeof L === "undefined" || !L.markerClusterGroup) { return; }
    var still = !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);

    var map = L.map(el, {
      scrollWheelZoom: false, maxZoom: 18,
      zoomAnimation: !still, fadeAnimation: !still, markerZoomAnimation: !still
    });
    var tiles = L.tileLayer(config.tilesUrl, { maxZoom: 18, attribution: config.tilesAttribution });
    tiles.on("tileerror", function () { if (tilesNotice) { tilesNotice.hidden = false; } });
    tiles.addTo(map);

    // The plugin's own click handling is off: this one adds the one-point list.
    var group = L.markerClusterGroup({
      animate: !still, showCoverageOnHover: false, maxClusterRadius: 60,
      zoomToBoundsOnClick: false, spiderfyOnMaxZoom: false
    });
    group.on("clusterclick clusterkeypress", function (e) {
      if (e.type === "clusterkeypress" && e.originalEvent && e.originalEvent.keyCode !== 13) { return; }
      var cluster = e.layer;
      var children = cluster.getAllChildMarkers();
      if (samePoint(children)) {
        L.popup({ maxHeight: 240, autoPanPadding: [16, 16] })
          .setLatLng(cluster.getLatLng())
          .setContent(listPopup(children.map(function (m) { return m.charity; }), config))
          .openOn(map);
        return;
      }
      // As the plugin does: spread the markers when even the deepest zoom keeps them
      // together, else zoom in to part them.
      var bottom = cluster;
      while (bottom._childClusters.length === 1) { bottom = bottom._childClusters[0]; }
      if (bottom._zoom === group._maxZoom && bottom._childCount === cluster._childCount) {
        cluster.spiderfy();
      } else {
        cluster.zoomToBounds({ padding: [24, 24] });
      }
    });
    map.addLayer(group);

    var byId = {};
    data.forEach(function (d) {
      var marker = L.marker(L.latLng(d.latitude, d.longitude), { title: d.name, alt: d.name, keyboard: true });
      marker.charity = d;
      marker.bindPopup(popupFor(d, config));
      byId[d.id] = marker;
    });

    // Open a charity's popup, zooming in and spreading its point's cluster if need be.
    // The plugin's zoomToShowLayer spreads a cluster from inside the zoom's own event when
    // nothing animates, and the plugin then folds it again at once: a marker that shares
    // its point is spread here after the zoom has settled instead.
    function reveal(marker) {
      map.closePopup();
      var point = marker.getLatLng();
      var shared = group.getLayers().some(function (m) { return m !== marker && m.getLatLng().equals(point); });
      if (!shared) { group.zoomToShowLayer(marker, function () { marker.openPopup(); }); return; }
      function open() {
        if (group._inZoomAnimation) { group.once("animationend", open); return; }
        var parent = group.getVisibleParent(marker);
        if (parent && parent !== marker && parent.spiderfy) {
          group.once("spiderfied", function () { marker.openPopup(); });
          parent.spiderfy();
        } else {
          marker.openPopup();
        }
      }
      if (map.getZoom() === map.getMaxZoom() && map.getBounds().contains(point)) { open(); return; }
      map.once("moveend", function () { window.setTimeout(open, 0); });
      map.setView(point, map.getMaxZoom());
    }

    var listItems = list ? Array.prototype.slice.call(list.querySelectorAll("li[data-id]")) : [];
    listItems.forEach(function (li) {
      var marker = byId[li.dataset.id];
      if (!marker) { return; }
      var button = node("button", "link-button map-show", "Show on map");
      button.type = "button";
      // The visible words start the accessible name (WCAG 2.5.3, label in name); the
      // charity's name follows for screen readers, who hear many such buttons.
      button.setAttribute("aria-label", "Show on map: " + marker.charity.name);
      button.addEventListener("click", function () {
        el.scrollIntoView({ block: "nearest" });
        reveal(marker);
      });
      var meta = li.querySelector(".map-list-meta") || li;
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(button);
    });

    function frame(points) {
      if (points.length === 1) { map.setView(points[0], 13); }
      else if (points.length > 1) {
        map.fitBounds(L.latLngBounds(points), { paddingTopLeft: [24, 48], paddingBottomRight: [24, 16], maxZoom: 13 });
      } else { map.setView([39.8, -98.6], 4); }
    }

    function show(place, recentre) {
      map.closePopup();
      group.clearLayers();
      var chosen = data.filter(function (d) { return !place || d.place === place; });
      group.addLayers(chosen.map(function (d) { return byId[d.id]; }));
      listItems.forEach(function (li) { li.hidden = !!place && li.dataset.place !== place; });
      if (count) {
        count.textContent = chosen.length + (chosen.length === 1 ? " charity" : " charities") + " on the map.";
      }
      if (recentre) { frame(chosen.map(function (d) { return L.latLng(d.latitude, d.longitude); })); }
    }

    show(config.place || "", !config.centre);
    if (config.centre) { map.setView([config.centre.lat, config.centre.lng], config.centre.zoom); }
    function apply() {
      show(select.value, true);
      if (window.history && window.history.replaceState) {
        var url = new URL(window.location.href);
        if (select.value) { url.searchParams.set("place", select.value); } else { url.searchParams.delete("place"); }
        window.history.replaceState(null, "", url.pathname + url.search);
      }
    }
    if (select) { select.addEventListener("change", apply); }
    if (form && select) { form.addEventListener("submit", function (e) { e.preventDefault(); apply(); }); }

    el.hometownMap = {
      map: map, group: group, markers: byId,
      showAll: function () { frame(group.getLayers().map(function (m) { return m.getLatLng(); })); }
    };
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", boot); } else { boot(); }
})();
