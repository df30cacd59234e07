/* Otklik: a searchable multi-select, no library, no network (ui/widgets.py SearchableSelectMultiple).

   Every <select multiple data-multiselect> gets, right after it, one box holding the chosen values as chips
   (each with a remove button) and a filter field; typing, clicking the field or Down opens a list of check
   boxes under it, narrowed to what was typed. The select stays in the form, hidden, and is what the form
   posts: each check box writes its option's `selected`.
   Keyboard: Tab reaches the chips' buttons and the filter (the list only while open); in the filter Enter
   takes or drops the only value left, Down goes into the list, Escape closes the list then clears the
   filter; in the list Up and Down move, Space toggles, Escape goes back to the filter.
   Without JavaScript the plain select stays. Texts come translated in the select's data-ms-* attributes. */
(function () {
  "use strict";

  function fold(text) {
    return text.toLocaleLowerCase().replace(/ё/g, "е").trim();
  }

  function element(tag, className) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  function enhance(select) {
    if (select.dataset.msReady) return;
    select.dataset.msReady = "1";
    var t = select.dataset;
    var quiet = false; // true while this script itself tells others that the select changed
    var base = select.id || "ms-" + Math.random().toString(36).slice(2);
    var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
    var name = label ? label.textContent.replace(/:\s*$/, "").trim() : select.name;

    var box = element("div", "ms");
    var field = element("div", "ms-field");
    var chips = element("ul", "ms-chips");
    chips.setAttribute("aria-label", name + " — " + t.msChosen);
    var filter = element("input", "ms-filter");
    filter.type = "text";
    filter.id = base + "_filter";
    filter.placeholder = t.msSearch;
    filter.autocomplete = "off";
    filter.setAttribute("aria-controls", base + "_options");
    var list = element("div", "ms-options");
    list.id = base + "_options";
    list.setAttribute("role", "group");
    list.setAttribute("aria-label", name);
    var empty = element("p", "ms-empty"); // shown in the open list when nothing matches
    empty.textContent = t.msNomatch;
    var status = element("p", "ms-status");
    status.id = base + "_status";
    status.setAttribute("aria-live", "polite");
    filter.setAttribute("aria-describedby", status.id);
    field.append(chips, filter);
    box.append(field, list, status);
    select.after(box);
    select.hidden = true;
    if (label) label.htmlFor = filter.id; // the field's label now names the filter
    var hint = box.parentNode.querySelector(".ms-nojs");
    if (hint) hint.remove();

    function visible() {
      return Array.prototype.filter.call(list.querySelectorAll("input[type=checkbox]"), function (check) {
        return !check.parentNode.hidden && !check.disabled;
      });
    }

    function open(yes) {
      box.classList.toggle("ms-open", yes);
    }

    function drawChips() {
      chips.textContent = "";
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.selected) return;
        var chip = element("li");
        var text = element("span");
        text.textContent = option.text;
        var remove = element("button", "ms-remove");
        remove.type = "button";
        remove.textContent = "×";
        remove.setAttribute("aria-label", t.msRemove + ": " + option.text);
        remove.addEventListener("click", function (event) {
          event.stopPropagation();
          var at = Array.prototype.indexOf.call(chips.querySelectorAll(".ms-remove"), remove);
          option.selected = false;
          changed();
          sync();
          var left = chips.querySelectorAll(".ms-remove"); // focus stays among the chips, else the filter
          (left[Math.min(at, left.length - 1)] || filter).focus();
        });
        chip.append(text, remove);
        chips.append(chip);
      });
    }

    function drawList() {
      list.textContent = "";
      empty.hidden = true;
      list.append(empty);
      Array.prototype.forEach.call(select.options, function (option) {
        var row = element("label", "ms-option");
        var check = element("input");
        check.type = "checkbox";
        check.value = option.value;
        check.checked = option.selected;
        check.disabled = option.disabled;
        check.addEventListener("change", function () {
          option.selected = check.checked;
          drawChips();
          changed();
        });
        var text = element("span");
        text.textContent = option.text;
        row.append(check, text);
        list.append(row);
      });
      applyFilter();
    }

    function applyFilter() {
      var query = fold(filter.value);
      var rows = list.querySelectorAll(".ms-option");
      var shown = 0;
      Array.prototype.forEach.call(rows, function (row) {
        row.hidden = query !== "" && fold(row.textContent).indexOf(query) < 0;
        if (!row.hidden) shown += 1;
      });
      empty.hidden = shown > 0;
      status.textContent = !shown
        ? t.msNomatch
        : query
          ? t.msCount.replace("%(shown)s", shown).replace("%(total)s", rows.length)
          : "";
    }

    function changed() {
      quiet = true;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      quiet = false;
    }

    function sync() {
      drawChips();
      drawList();
    }

    field.addEventListener("click", function () {
      filter.focus();
      open(true);
    });
    filter.addEventListener("input", function () {
      applyFilter();
      open(true);
    });
    filter.addEventListener("keydown", function (event) {
      var rows = visible();
      if (event.key === "Enter") {
        event.preventDefault(); // never submit the form from here
        open(true);
        if (rows.length === 1) rows[0].click();
      } else if (event.key === "ArrowDown") {
        event.preventDefault();
        open(true);
        if (rows.length) rows[0].focus();
      } else if (event.key === "Escape" && (box.classList.contains("ms-open") || filter.value)) {
        event.preventDefault();
        if (box.classList.contains("ms-open")) open(false);
        else {
          filter.value = "";
          applyFilter();
        }
      } else if (event.key === "Backspace" && !filter.value && chips.lastElementChild) {
        chips.lastElementChild.querySelector(".ms-remove").focus(); // then Enter or Space drops it
      }
    });
    list.addEventListener("keydown", function (event) {
      var rows = visible();
      var at = rows.indexOf(document.activeElement);
      if (at < 0) return;
      if (event.key === "ArrowDown" && at + 1 < rows.length) {
        event.preventDefault();
        rows[at + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        (at > 0 ? rows[at - 1] : filter).focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        filter.focus();
      } else if (event.key === "Enter") {
        event.preventDefault(); // a check box in a form would submit it
        rows[at].click();
      }
    });
    // A click in the list keeps the focus in the filter, so the list stays open; leaving the box closes it.
    list.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    box.addEventListener("focusout", function (event) {
      if (!box.contains(event.relatedTarget)) open(false);
    });
    // Another script may change the select (the admin's "add another" pop-up adds a chosen option).
    select.addEventListener("change", function () {
      if (!quiet) sync();
    });
    new MutationObserver(sync).observe(select, { childList: true, subtree: true });
    sync();
  }

  function start() {
    document.querySelectorAll("select[multiple][data-multiselect]").forEach(enhance);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
