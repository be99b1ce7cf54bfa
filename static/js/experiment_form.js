// Shows only the parameters that apply to the chosen scenario. Without JavaScript every
// field shows (and the run ignores the ones its scenario does not use).
(function () {
  "use strict";
  var form = document.querySelector(".run-form");
  if (!form) return;
  var conditional = form.querySelectorAll("[data-show-when]");
  function update() {
    conditional.forEach(function (input) {
      var driver = form.elements[input.dataset.showWhen];
      var field = input.closest(".field");
      if (driver && field) field.hidden = driver.value !== input.dataset.showValue;
    });
  }
  form.addEventListener("change", update);
  update();
})();
