/* The staff composer and the workspace's small behaviours (no framework, loaded with defer).
 *
 * - tabs: public reply / hidden note (radio buttons that also work without this script);
 * - a Markdown toolbar and a preview rendered by the server (the same renderer as the conversation);
 * - files pasted from the clipboard (a screenshot) or dropped on the box join the form's file input, so
 *   they are sent with the message and checked by the server like any chosen file;
 * - the side panel's undo notice fades after a few seconds; [data-confirm] asks before a destructive click;
 * - on a phone-sized screen the list's views start folded;
 * - the macros menu folds with Escape and asks before a macro would throw away typed text.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var UNDO_SECONDS = 10;

  function csrf() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // -- confirmations and the views on small screens ---------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });
  var side = document.querySelector("details.desk-side");
  if (side && window.matchMedia("(max-width: 760px)").matches) side.open = false;

  // -- undo notices: visible for a few seconds after an inline change ----------------------------
  function fadeToasts(root) {
    (root || document).querySelectorAll("[data-toast]").forEach(function (toast) {
      setTimeout(function () { toast.remove(); }, UNDO_SECONDS * 1000);
    });
  }
  fadeToasts();
  document.addEventListener("htmx:afterSwap", function (event) { fadeToasts(event.target.parentNode || document); });

  var form = document.getElementById("reply-form");
  if (!form) return;
  var box = form.querySelector("textarea[name='reply-body']");
  var files = form.querySelector("input[type=file][name='reply-files']");
  var dropped = document.getElementById("reply-dropped");
  var preview = document.getElementById("reply-preview");
  var toolbar = form.querySelector(".toolbar");
  if (toolbar) toolbar.hidden = false;

  // -- tabs -------------------------------------------------------------------------------------
  function showMode() {
    var note = form.querySelector("input[name='reply-hidden'][value='true']");
    var isNote = !!(note && note.checked);
    form.classList.toggle("is-note", isNote);
  }
  form.querySelectorAll("input[name='reply-hidden']").forEach(function (radio) {
    radio.addEventListener("change", function () { showMode(); box.focus(); });
  });
  showMode();

  // -- Markdown toolbar -------------------------------------------------------------------------
  function surround(before, after, placeholder) {
    var start = box.selectionStart, end = box.selectionEnd;
    var chosen = box.value.slice(start, end) || placeholder;
    box.setRangeText(before + chosen + after, start, end, "select");
    box.setSelectionRange(start + before.length, start + before.length + chosen.length);
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function prefixLines(prefix) {
    var start = box.value.lastIndexOf("\n", box.selectionStart - 1) + 1;
    var end = box.selectionEnd;
    var lines = box.value.slice(start, end).split("\n").map(function (line) { return prefix + line; });
    box.setRangeText(lines.join("\n"), start, end, "end");
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }
  var ACTIONS = {
    bold: function () { surround("**", "**", "text"); },
    italic: function () { surround("_", "_", "text"); },
    code: function () { surround("`", "`", "code"); },
    link: function () { surround("[", "](https://)", "text"); },
    quote: function () { prefixLines("> "); },
    list: function () { prefixLines("- "); },
  };
  form.addEventListener("click", function (event) {
    var button = event.target.closest("[data-md]");
    if (button && ACTIONS[button.getAttribute("data-md")]) {
      event.preventDefault();
      ACTIONS[button.getAttribute("data-md")]();
    }
  });

  // -- preview ----------------------------------------------------------------------------------
  var previewButton = form.querySelector("[data-preview]");
  if (previewButton && preview) {
    previewButton.addEventListener("click", function () {
      var on = previewButton.getAttribute("aria-pressed") !== "true";
      previewButton.setAttribute("aria-pressed", on ? "true" : "false");
      if (!on) { preview.hidden = true; box.hidden = false; box.focus(); return; }
      var data = new FormData();
      data.append("reply-body", box.value);
      fetch(form.getAttribute("data-preview-url"), {
        method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf() },
      }).then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) { preview.innerHTML = html; preview.hidden = false; box.hidden = true; });
    });
  }

  // -- pasted and dropped files -----------------------------------------------------------------
  var chosen = [];
  function stamp() {
    var d = new Date();
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + two(d.getMonth() + 1) + two(d.getDate()) + "-" + two(d.getHours()) + two(d.getMinutes()) + two(d.getSeconds());
  }
  function sync() {
    var transfer = new DataTransfer();
    chosen.forEach(function (file) { transfer.items.add(file); });
    files.files = transfer.files;
    dropped.textContent = "";
    chosen.forEach(function (file, index) {
      var chip = document.createElement("span");
      chip.className = "file-chip";
      if (file.type.indexOf("image/") === 0) {
        var img = document.createElement("img");
        img.alt = "";
        var reader = new FileReader();
        reader.onload = function () { img.src = reader.result; };
        reader.readAsDataURL(file);
        chip.appendChild(img);
      }
      chip.appendChild(document.createTextNode(file.name));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = "×";
      remove.setAttribute("aria-label", (dropped.getAttribute("data-remove") || "Remove") + " " + file.name);
      remove.addEventListener("click", function () { chosen.splice(index, 1); sync(); });
      chip.appendChild(remove);
      dropped.appendChild(chip);
    });
  }
  function add(list) {
    Array.prototype.forEach.call(list, function (file) {
      if (file.name === "image.png" || !file.name) {
        file = new File([file], "screenshot-" + stamp() + "." + (file.type.split("/")[1] || "png"), { type: file.type });
      }
      chosen.push(file);
    });
    sync();
  }
  files.addEventListener("change", function () {
    // Files chosen with the picker join those pasted or dropped before.
    var picked = Array.prototype.slice.call(files.files);
    if (picked.length && picked.some(function (f) { return chosen.indexOf(f) < 0; })) {
      chosen = chosen.concat(picked.filter(function (f) { return chosen.indexOf(f) < 0; }));
      sync();
    }
  });
  box.addEventListener("paste", function (event) {
    var pasted = event.clipboardData && event.clipboardData.files;
    if (pasted && pasted.length) {
      event.preventDefault();
      add(pasted);
    }
  });
  var area = form.querySelector(".composer-box");
  area.addEventListener("dragover", function (event) { event.preventDefault(); area.classList.add("dragging"); });
  area.addEventListener("dragleave", function () { area.classList.remove("dragging"); });
  area.addEventListener("drop", function (event) {
    event.preventDefault();
    area.classList.remove("dragging");
    if (event.dataTransfer && event.dataTransfer.files.length) add(event.dataTransfer.files);
  });

  // -- macros: Escape folds the menu; applying one asks first when typed text would be lost ------
  var macroMenu = document.getElementById("macro-picker");
  if (macroMenu) {
    macroMenu.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !macroMenu.open) return;
      macroMenu.open = false;
      macroMenu.querySelector("summary").focus();
    });
    macroMenu.addEventListener("click", function (event) {
      var item = event.target.closest && event.target.closest("button[name=macro]");
      if (item && box && box.value.trim() && !window.confirm(macroMenu.getAttribute("data-unsaved"))) {
        event.preventDefault();
      }
    });
  }

  // A hidden live notice goes away once the reply is sent or the user reads it.
  form.addEventListener("submit", function () {
    var notice = document.getElementById("live-notice");
    if (notice) notice.hidden = true;
  });
})();
