// Presence on the staff ticket page (F-14): who else looks at the ticket, and who is answering now.
// Loaded with `defer` after htmx, so `htmx` exists when this runs. The line refreshes every few seconds
// (a read); the page says "I am still here" every 30 s and "I am answering" while the answer box is typed in.
(function () {
  "use strict";
  const line = document.getElementById("presence");
  if (!line || !window.htmx) return;
  const url = line.dataset.url;
  const refreshMs = (parseInt(line.dataset.refresh, 10) || 5) * 1000;
  const touchMs = 30000;
  const answeringMs = 20000;
  let lastTouch = Date.now(); // opening the page recorded the visit
  let lastAnswering = 0;

  function send(method, values) {
    htmx.ajax(method, url, { target: line, swap: "innerHTML", values: values || {} });
  }

  setInterval(function () {
    if (document.hidden) return;
    const now = Date.now();
    if (now - lastTouch >= touchMs) {
      lastTouch = now;
      send("POST");
    } else {
      send("GET");
    }
  }, refreshMs);

  const box = document.getElementById("id_reply-body");
  if (box) {
    box.addEventListener("input", function () {
      const now = Date.now();
      if (now - lastAnswering > answeringMs) {
        lastAnswering = now;
        lastTouch = now;
        send("POST", { answering: "1" });
      }
    });
  }
})();
