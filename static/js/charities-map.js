/* /charities/map/: every approved charity with coordinates as a Leaflet marker.
   Data comes from json_script blocks (no inline script, so the CSP holds); popups are
   built with DOM nodes and textContent, never HTML strings, so names cannot inject markup. */
(function () {
  "use strict";
  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function popupFor(marker, config) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = config.detailUrl.replace("/0/", "/" + marker.id + "/");
    link.textContent = marker.name;
    var strong = document.createElement("strong");
    strong.appendChild(link);
    var meta = document.createElement("div");
    meta.textContent = marker.place + " · " + marker.category;
    box.appendChild(strong);
    box.appendChild(meta);
    if (marker.blurb) {  /* the charity's gift line, or its mission's first sentence */
      var blurb = document.createElement("p");
      blurb.className = "map-popup-blurb";
      blurb.textContent = marker.blurb;
      box.appendChild(blurb);
    }
    return box;
  }

  function boot() {
    var el = document.getElementById("charity-map-all");
    var markers = readJson("map-markers") || [];
    var config = readJson("map-config") || {};
    var select = document.getElementById("map-city");
    var count = document.getElementById("map-count");
    if (!el || typeof L === "undefined") { return; }

    var map = L.map(el, { scrollWheelZoom: false });
    L.tileLayer(config.tilesUrl, { maxZoom: 19, attribution: config.tilesAttribution }).addTo(map);
    var layer = L.layerGroup().addTo(map);

    function show(place, recentre) {
      layer.clearLayers();
      var points = [];
      markers.forEach(function (m) {
        if (place && m.place !== place) { return; }
        var latlng = L.latLng(m.latitude, m.longitude);
        points.push(latlng);
        L.marker(latlng, { title: m.name, alt: m.name, keyboard: true })
          .bindPopup(popupFor(m, config))
          .addTo(layer);
      });
      if (count) {
        count.textContent = points.length + (points.length === 1 ? " charity" : " charities") + " on the map.";
      }
      if (!recentre) { return; }
      if (points.length === 1) { map.setView(points[0], 13); }
      else if (points.length > 1) { map.fitBounds(L.latLngBounds(points), {
        paddingTopLeft: [24, 48], paddingBottomRight: [24, 16], maxZoom: 13
      }); }
      else { map.setView([39.8, -98.6], 4); }
    }

    show("", !config.centre);
    if (config.centre) { map.setView([config.centre.lat, config.centre.lng], config.centre.zoom); }
    if (select) {
      select.addEventListener("change", function () { show(select.value, true); });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", boot); } else { boot(); }
})();
