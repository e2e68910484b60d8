/* A charity's page: one marker on a small Leaflet map; data from data-* attributes. */
(function () {
  "use strict";
  function boot() {
    var el = document.getElementById("charity-map");
    if (!el || typeof L === "undefined") { return; }
    var latlng = L.latLng(parseFloat(el.dataset.lat), parseFloat(el.dataset.lng));
    var map = L.map(el, { scrollWheelZoom: false }).setView(latlng, 14);
    var notice = document.getElementById("charity-map-tiles-notice");
    L.tileLayer(el.dataset.tilesUrl, { maxZoom: 19, attribution: el.dataset.tilesAttribution })
      .on("tileerror", function () { if (notice) { notice.hidden = false; } })
      .addTo(map);
    L.marker(latlng, { title: el.dataset.name, alt: el.dataset.name }).addTo(map);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", boot); } else { boot(); }
})();
