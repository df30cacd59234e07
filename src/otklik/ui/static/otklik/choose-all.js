// The staff list's "choose all" checkbox: ticks or clears every ticket's checkbox of the bulk form.
(function () {
  "use strict";
  for (const all of document.querySelectorAll("input[data-choose-all]")) {
    const form = all.form || document;
    all.addEventListener("change", function () {
      for (const box of form.querySelectorAll("input[name=ids]")) box.checked = all.checked;
    });
  }
})();
