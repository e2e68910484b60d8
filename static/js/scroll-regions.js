/* A table wider than the screen scrolls sideways inside its box (a .table-wrap, or on a
   small screen the table itself: site.css). A keyboard user must be able to scroll it
   too (WCAG 2.1.1), so a box that does scroll becomes a tab stop, and a .table-wrap a
   region named after its table's caption; a box that fits takes no tab stop. Checked
   when the page is ready and again when the window changes size. */
(function () {
  "use strict";

  function boxes() {
    return Array.prototype.filter.call(
      document.querySelectorAll("main .table-wrap, main table"),
      function (box) { return box.tagName !== "TABLE" || !box.closest(".table-wrap"); }
    );
  }

  function name(box) {
    var caption = box.querySelector("caption");
    var text = caption ? caption.textContent.replace(/\s+/g, " ").trim() : "";
    return text || "Table";
  }

  function update() {
    boxes().forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        // What this script adds, so that it takes back only that.
        var added = { tabindex: "0" };
        if (box.tagName !== "TABLE" && !box.hasAttribute("role")) {
          added.role = "region";
          if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
            added["aria-label"] = name(box) + " (scrolls sideways)";
          }
        }
        Object.keys(added).forEach(function (a) { box.setAttribute(a, added[a]); });
        box.setAttribute("data-scroll-region", Object.keys(added).join(" "));
      } else if (!scrolls && box.hasAttribute("data-scroll-region")) {
        box.getAttribute("data-scroll-region").split(" ").forEach(function (a) {
          box.removeAttribute(a);
        });
        box.removeAttribute("data-scroll-region");
      }
    });
  }

  var pending = false;
  window.addEventListener("resize", function () {
    if (!pending) {
      pending = true;
      window.requestAnimationFrame(function () { pending = false; update(); });
    }
  });
  update();
})();
