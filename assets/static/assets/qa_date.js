// The inspection form's QA rule, said as soon as a date is typed: a QA / calibration test
// older than the rule allows fails the whole inspection. The server checks it again on submit.
(function () {
  "use strict";
  var input = document.querySelector("input[data-qa-earliest]");
  var box = document.getElementById("qa-date-warning");
  if (!input || !box) return;
  var text = box.querySelector("[data-qa-warning-text]");
  function check() {
    var value = input.value, earliest = input.getAttribute("data-qa-earliest");
    // ISO dates (yyyy-mm-dd) compare as strings.
    if (value && value < earliest) {
      text.textContent = box.getAttribute("data-generic");
      box.hidden = false;
    } else {
      box.hidden = true;
    }
  }
  input.addEventListener("change", check);
  input.addEventListener("input", check);
})();
