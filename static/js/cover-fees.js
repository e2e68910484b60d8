/* Subscribe page: while "Add the processing fee" is ticked, show the breakdown live
   ("$10.00 + $0.61 fees = $10.61 a week"). Progressive enhancement only: the server
   computes the same figure (subscriptions/fees.py) and shows it for confirmation before
   anything is charged, with or without this script. Integer cents, as on the server. */
(function () {
  "use strict";
  var box = document.querySelector(".cover-fees[data-fee-basis-points]");
  var form = box && box.closest("form");
  if (!form) { return; }
  var amount = form.querySelector("input[name=amount]");
  var check = form.querySelector("input[name=covers_fees]");
  var out = box.querySelector(".fee-preview");
  var bp = parseInt(box.getAttribute("data-fee-basis-points"), 10);
  var fixed = parseInt(box.getAttribute("data-fee-fixed-cents"), 10);

  function cents(text) {
    var m = /^\$?\s*(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text.trim().replace(/,/g, ""));
    if (!m) { return null; }
    return parseInt(m[1], 10) * 100 + (m[2] ? parseInt((m[2] + "0").slice(0, 2), 10) : 0);
  }
  function net(charge) { return charge - (Math.floor((charge * bp + 5000) / 10000) + fixed); }
  function grossUp(gift) {
    var charge = Math.ceil(((gift + fixed) * 10000) / (10000 - bp));
    while (charge > gift && net(charge - 1) >= gift) { charge -= 1; }
    while (net(charge) < gift) { charge += 1; }
    return charge;
  }
  function dollars(c) {
    var d = Math.floor(c / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return "$" + d + "." + ("0" + (c % 100)).slice(-2);
  }
  function update() {
    var gift = cents(amount.value);
    if (!check.checked || gift === null || gift < 100) { out.textContent = ""; return; }
    var charge = grossUp(gift);
    out.textContent = dollars(gift) + " + " + dollars(charge - gift) + " fees = " +
      dollars(charge) + " a week";
  }
  amount.addEventListener("input", update);
  check.addEventListener("change", update);
  update();
})();
