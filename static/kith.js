// kith's only script: progressive enhancement, the pages work without it.
// Keeps the compose form's character counter live (text and warning together), and
// lets schedule fields speak the browser's time zone (without it they are UTC).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form.compose").forEach(function (form) {
    var counter = form.querySelector("output[data-max]");
    if (!counter) return;
    var max = parseInt(counter.getAttribute("data-max"), 10);
    var fields = form.querySelectorAll("[data-count]");
    var update = function () {
      var used = 0;
      fields.forEach(function (f) { used += Array.from(f.value).length; });
      var left = max - used;
      counter.textContent = String(left);
      counter.classList.toggle("over", left < 0);
    };
    fields.forEach(function (f) { f.addEventListener("input", update); });
    update();
  });
  // A stored time (UTC) shown in local time.
  document.querySelectorAll("input[type=datetime-local][data-utc]").forEach(function (input) {
    var t = new Date(input.getAttribute("data-utc"));
    if (isNaN(t.getTime())) return;
    input.value = new Date(t.getTime() - t.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  });
  // The zone of a typed time goes with it, as minutes behind UTC on that date.
  document.querySelectorAll("form").forEach(function (form) {
    var when = form.querySelector("input[name=scheduled_at]");
    var offset = form.querySelector("input[name=schedule_offset]");
    if (!when || !offset) return;
    form.addEventListener("submit", function () {
      if (when.value) offset.value = String(new Date(when.value).getTimezoneOffset());
    });
  });
});
