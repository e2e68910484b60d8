/* Profile form: typing a 5-digit ZIP fills city and state (looked up offline on our own
   server). Without JavaScript the same happens when the form is saved. */
(function () {
  "use strict";
  var form = document.getElementById("profile-form");
  if (!form || !window.fetch) { return; }
  var zip = document.getElementById("id_zip_code");
  var city = document.getElementById("id_city");
  var state = document.getElementById("id_state");
  var status = document.getElementById("zip-status");
  var last = zip ? zip.value.trim() : "";

  function lookup() {
    var value = zip.value.trim();
    if (!/^\d{5}$/.test(value) || value === last) { return; }
    last = value;
    fetch(form.dataset.zipUrl + "?zip=" + encodeURIComponent(value), {
      headers: { "Accept": "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (zip.value.trim() !== value) { return; }
      if (result.ok) {
        city.value = result.data.city;
        state.value = result.data.state;
        status.textContent = "ZIP " + value + " is in " + result.data.city + ", " + result.data.state + ".";
      } else {
        status.textContent = result.data.error || "That is not a US ZIP code.";
      }
    }).catch(function () { status.textContent = ""; });
  }
  if (zip) { zip.addEventListener("input", lookup); }
})();
