/* Forms with data-confirm ask before they submit (no inline handlers: the CSP forbids them).
   Without JavaScript the form submits directly; the action can be undone by subscribing again. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
