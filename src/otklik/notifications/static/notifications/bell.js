/* The bell (notifications/_bell.html): open and close the panel, fetch it when opened (htmx), and keep
   the button's accessible name ("Notifications, 3 unread") in step with the badge htmx refreshes.
   Without htmx the button stays a link to the list of notifications. */
(function () {
  "use strict";

  function setup(bell) {
    if (bell.dataset.ready) return;
    bell.dataset.ready = "1";
    var button = bell.querySelector(".bell-button");
    var panel = bell.querySelector(".bell-panel");

    function close() {
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
    }
    function place() {
      // Narrow screens (bell.css): the panel spans the screen just under the bell, wherever the
      // wrapped top bar put it.
      panel.style.top = window.matchMedia("(max-width: 600px)").matches
        ? Math.round(button.getBoundingClientRect().bottom + 6) + "px"
        : "";
    }
    function open() {
      place();
      panel.hidden = false;
      button.setAttribute("aria-expanded", "true");
      window.htmx.trigger(panel, "bell-open");
    }
    button.addEventListener("click", function (event) {
      if (!window.htmx) return; // no htmx: follow the link
      event.preventDefault();
      if (panel.hidden) open(); else close();
    });
    button.addEventListener("keydown", function (event) {
      if (event.key === " ") { event.preventDefault(); button.click(); } // a role="button" answers Space too
    });
    document.addEventListener("click", function (event) {
      if (!panel.hidden && !bell.contains(event.target)) close();
    });
    window.addEventListener("resize", function () { if (!panel.hidden) place(); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !panel.hidden) { close(); button.focus(); }
    });
    button.addEventListener("htmx:afterSwap", function () {
      var label = button.querySelector("[data-label]");
      if (label) button.setAttribute("aria-label", label.getAttribute("data-label"));
    });
  }

  function init() {
    document.querySelectorAll("[data-bell]").forEach(setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
