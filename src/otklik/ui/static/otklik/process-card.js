// The process card (workflow/_card.html): refused moves come back as 403 / 409 / 422 with the form and its
// reasons, which htmx would otherwise not show; and the keyboard lands on the form that opened.
(function () {
  if (window.otklikProcessCard) return;
  window.otklikProcessCard = true;
  var SHOWN = [403, 409, 422];
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "process-card" && SHOWN.indexOf(event.detail.xhr.status) !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var card = document.getElementById("process-card");
    var xhr = event.detail.xhr;
    if (!card || !xhr || (xhr.responseURL || "").indexOf("/process/") === -1) return;
    var first = card.querySelector(".pc-form [aria-invalid=true], #pc-alert, .pc-form .input, .pc-form button");
    if (first) {
      if (first.id === "pc-alert") first.setAttribute("tabindex", "-1");
      first.focus();
    }
  });
  document.addEventListener("keydown", function (event) {
    // Escape closes an open move's form (the same as its Cancel link).
    if (event.key !== "Escape") return;
    var cancel = document.querySelector("#pc-form .actions a.secondary");
    if (cancel && document.getElementById("pc-form").contains(document.activeElement)) cancel.click();
  });
})();
