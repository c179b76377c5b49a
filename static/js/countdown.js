// Keeps every <time data-countdown data-label="..."> current: "auto-release in 13 days 4 hours",
// "due in 2 days", "overdue by 3 hours". The server renders the same words (milestones.selectors),
// so the page is right without JavaScript; this only keeps it from going stale.
(function () {
  "use strict";

  function plural(value, unit) {
    return value + " " + unit + (value === 1 ? "" : "s");
  }

  function durationText(seconds) {
    var totalMinutes = Math.floor(seconds / 60);
    var days = Math.floor(totalMinutes / 1440);
    var hours = Math.floor((totalMinutes % 1440) / 60);
    var minutes = totalMinutes % 60;
    var parts = [[days, "day"], [hours, "hour"], [minutes, "minute"]];
    var shown = [];
    for (var i = 0; i < parts.length && shown.length < 2; i++) {
      if (parts[i][0] || shown.length) {
        shown.push(parts[i]);
      }
    }
    var words = shown.filter(function (p) { return p[0]; }).map(function (p) { return plural(p[0], p[1]); });
    return words.join(" ") || "less than a minute";
  }

  function countdownText(label, deadline, now) {
    var seconds = (deadline - now) / 1000;
    if (seconds >= 0) {
      return label + " in " + durationText(seconds);
    }
    if (label === "due") {
      return "overdue by " + durationText(-seconds);
    }
    return label + " is due now";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (element) {
      var deadline = Date.parse(element.getAttribute("datetime"));
      if (!isNaN(deadline)) {
        element.textContent = countdownText(element.dataset.label || "due", deadline, now);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 30000);
  });
})();
