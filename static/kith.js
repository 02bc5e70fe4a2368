// kith's only script: progressive enhancement, the pages work without it.
// Keeps the compose form's character counter live (text and warning together).
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
});
