/* Live regions: parts of a page that follow the server without a reload.
 *
 * An element with data-live-url="..." is re-read every data-live-interval seconds (default 10) while the
 * tab is visible, with the ETag of the last answer in If-None-Match: an unchanged page costs the server a
 * 304 and nothing here. A changed answer is a list of elements with ids:
 *   - an element whose id is on the page replaces it (its htmx attributes are processed again);
 *   - an element with data-live-append: its children are appended to the page's element of the same id;
 *     an appended child with data-live-notice="text" shows that text in #live-notice while the user is
 *     typing in a [data-live-typing] field (someone answered while you write).
 * A region is held (left as it is, asked again next time) while the user has chosen rows in it or is
 * typing in it, so a refresh never takes away what they are doing.
 */
(function () {
  "use strict";

  function typing() {
    var field = document.querySelector("[data-live-typing]");
    return !!field && (field.value.trim() !== "" || document.activeElement === field);
  }

  function held(target) {
    if (target.querySelector("input[type=checkbox]:checked")) return true;
    var active = document.activeElement;
    return !!active && target.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
  }

  function showNotice(text) {
    var notice = document.getElementById("live-notice");
    if (!notice) return;
    notice.textContent = text;
    notice.hidden = false;
  }

  function apply(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var complete = true;
    Array.prototype.slice.call(template.content.children).forEach(function (node) {
      var target = node.id && document.getElementById(node.id);
      if (!target) return;
      if (node.hasAttribute("data-live-append")) {
        Array.prototype.slice.call(node.children).forEach(function (child) {
          if (child.id && document.getElementById(child.id)) return; // already shown
          target.appendChild(child);
          if (window.htmx) window.htmx.process(child);
          var notice = child.getAttribute("data-live-notice");
          if (notice && typing()) showNotice(notice);
        });
        return;
      }
      if (held(target)) { complete = false; return; }
      target.replaceWith(node);
      if (window.htmx) window.htmx.process(node);
    });
    document.dispatchEvent(new CustomEvent("otklik:live"));
    return complete;
  }

  function follow(region) {
    var url = region.getAttribute("data-live-url");
    var every = Math.max(2, parseFloat(region.getAttribute("data-live-interval") || "10")) * 1000;
    var etag = region.getAttribute("data-live-etag") || "";
    var delay = every;
    var timer = null;

    function schedule(ms) {
      clearTimeout(timer);
      timer = setTimeout(poll, ms);
    }

    function poll() {
      if (document.hidden) return; // resumed by visibilitychange
      var headers = { "HX-Request": "true" };
      if (etag) headers["If-None-Match"] = etag;
      fetch(url, { headers: headers, cache: "no-store", credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 304) { delay = every; return null; }
          if (response.status === 401 || response.status === 403 || response.status === 404) {
            delay = 0; // the page is gone or the session ended: stop asking
            return null;
          }
          if (!response.ok) throw new Error(String(response.status));
          var next = response.headers.get("ETag") || "";
          return response.text().then(function (html) {
            if (apply(html)) etag = next; // a held region is asked again next time
            delay = every;
          });
        })
        .catch(function () { delay = Math.min(delay * 2, 300000); })
        .then(function () { if (delay) schedule(delay); });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) schedule(0);
    });
    region.addEventListener("otklik:poll", function () { schedule(0); });
    schedule(every);
  }

  // Relative times ("12 minutes ago") move on by themselves: the server renders them once, the browser
  // keeps them current in the page's language; past a week the server's date stays.
  var UNITS = [["day", 86400], ["hour", 3600], ["minute", 60]];
  function refreshTimes() {
    if (!window.Intl || !Intl.RelativeTimeFormat) return;
    var format = new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "auto" });
    var now = Date.now();
    document.querySelectorAll("time[data-rel]").forEach(function (node) {
      var seconds = (Date.parse(node.getAttribute("datetime")) - now) / 1000;
      if (isNaN(seconds) || Math.abs(seconds) >= 7 * 86400) return;
      var text = format.format(0, "minute");
      for (var i = 0; i < UNITS.length; i++) {
        if (Math.abs(seconds) >= UNITS[i][1]) {
          text = format.format(Math.trunc(seconds / UNITS[i][1]), UNITS[i][0]);
          break;
        }
      }
      node.textContent = text;
    });
  }

  function start() {
    refreshTimes();
    setInterval(refreshTimes, 60000);
    document.addEventListener("otklik:live", refreshTimes);
    document.querySelectorAll("[data-live-url]").forEach(follow);
    document.addEventListener("click", function (event) {
      var close = event.target.closest("[data-live-notice-close]");
      if (close) document.getElementById("live-notice").hidden = true;
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
