// Presence on the staff ticket page (F-14): the page says "I am still here" every 60 s and "I am answering"
// while the answer box is typed in (writes); the line itself follows the page's live request (live.js).
(function () {
  "use strict";
  const line = document.getElementById("presence");
  if (!line || !window.htmx) return;
  const url = line.dataset.url;
  const touchMs = 60000; // well inside the presence window (5 min by default)
  const answeringMs = 20000;
  let lastTouch = Date.now(); // opening the page recorded the visit
  let lastAnswering = 0;

  function send(values) {
    htmx.ajax("POST", url, { target: "#presence", swap: "innerHTML", values: values || {} });
  }

  setInterval(function () {
    if (document.hidden) return;
    const now = Date.now();
    if (now - lastTouch >= touchMs) {
      lastTouch = now;
      send({ still: "1" });
    }
  }, 5000);

  const box = document.getElementById("id_reply-body");
  if (box) {
    box.addEventListener("input", function () {
      const now = Date.now();
      if (now - lastAnswering > answeringMs) {
        lastAnswering = now;
        lastTouch = now;
        send({ answering: "1" });
      }
    });
  }
})();
