// The running total on the "fund several milestones" page, and how much a card must cover.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-fund-many]");
    if (!form) {
      return;
    }
    var balance = parseInt(form.dataset.balance, 10) || 0;
    var minorPerUnit = parseInt(form.dataset.minorPerUnit, 10) || 100;
    var formatter = new Intl.NumberFormat(undefined, { style: "currency", currency: form.dataset.currency });
    var totalOut = form.querySelector("[data-fund-total]");
    var shortfallOut = form.querySelector("[data-fund-shortfall]");

    function update() {
      var total = 0;
      form.querySelectorAll("input[name=milestones]:checked").forEach(function (box) {
        total += parseInt(box.dataset.amount, 10) || 0;
      });
      // Minor units to a display amount; integers throughout, divided only for display.
      totalOut.textContent = formatter.format(total / minorPerUnit);
      var shortfall = total - balance;
      shortfallOut.textContent = shortfall > 0 ? " (your balance is " + formatter.format(shortfall / minorPerUnit) + " short: a card pays the difference)" : "";
    }

    form.addEventListener("change", update);
    update();
  });
})();
