// After htmx swaps in an answered (or rejected) question, move keyboard focus to its
// feedback or error, so a screen reader reads it and Tab continues from there, not from <body>.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.target;  // the element swapped in (detail.elt is the form that asked, now gone)
    var target = root.matches && root.matches("[data-focus-after-swap]") ? root
      : root.querySelector && root.querySelector("[data-focus-after-swap]");
    if (target) target.focus();
  });
})();
