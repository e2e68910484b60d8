/* Edit a charity's latitude/longitude inputs on a Leaflet map (admin change form). */
(function () {
  "use strict";
  function round(value) { return Math.round(value * 1e6) / 1e6; }

  function init(el) {
    var latInput = document.getElementById(el.dataset.latInput);
    var lngInput = document.getElementById(el.dataset.lngInput);
    if (!latInput || !lngInput || typeof L === "undefined") { return; }
    var map = L.map(el);
    L.tileLayer(el.dataset.tilesUrl, { maxZoom: 19, attribution: el.dataset.tilesAttribution }).addTo(map);
    var marker = null;

    function current() {
      var lat = parseFloat(latInput.value), lng = parseFloat(lngInput.value);
      return (isFinite(lat) && isFinite(lng)) ? L.latLng(lat, lng) : null;
    }
    function write(latlng) {
      latInput.value = round(latlng.lat);
      lngInput.value = round(latlng.lng);
    }
    function place(latlng) {
      if (marker) { marker.setLatLng(latlng); return; }
      marker = L.marker(latlng, { draggable: true, keyboard: true, title: "Charity location" }).addTo(map);
      marker.on("dragend", function () { write(marker.getLatLng()); });
    }

    var start = current();
    if (start) { place(start); map.setView(start, 13); } else { map.setView([39.8, -98.6], 4); }
    map.on("click", function (event) { place(event.latlng); write(event.latlng); });
    [latInput, lngInput].forEach(function (input) {
      input.addEventListener("change", function () {
        var latlng = current();
        if (latlng) { place(latlng); map.panTo(latlng); }
      });
    });
  }

  function boot() { document.querySelectorAll(".map-picker").forEach(init); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", boot); } else { boot(); }
})();
