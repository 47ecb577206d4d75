// certorder console: small conveniences on top of pages that work
// without this script. No third-party code; loaded from our origin only
// (the Content-Security-Policy allows nothing else).
(function () {
  "use strict";
  // Forms that destroy something ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });
  // A chosen CSR file is shown in its text area, so it can be checked.
  document.querySelectorAll("input[type=file][data-csr-into]").forEach(function (input) {
    input.addEventListener("change", function () {
      var area = document.getElementById(input.getAttribute("data-csr-into"));
      var file = input.files && input.files[0];
      if (!area || !file || file.size > 65536) { return; }
      file.text().then(function (text) { area.value = text; });
    });
  });
  // Inputs that one choice of a select alone reads (the card's, for a card
  // payment) are shown with that choice; without the script they are
  // always shown, and the rules ignore them otherwise.
  document.querySelectorAll("[data-shown-by]").forEach(function (el) {
    var sel = document.getElementById(el.getAttribute("data-shown-by"));
    if (!sel) { return; }
    var show = function () { el.hidden = sel.value !== el.getAttribute("data-shown-value"); };
    sel.addEventListener("change", show);
    show();
  });
  // Copy buttons, shown only where the clipboard can be written.
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    if (!navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      var field = document.getElementById(b.getAttribute("data-copy"));
      navigator.clipboard.writeText(field.value).then(function () { b.textContent = "Copied"; });
    });
  });
  // A form's errors take the focus, so screen readers start there.
  var errors = document.getElementById("errors");
  if (errors) { errors.focus(); }
})();
