/* Keyboard shortcuts (issue 17): one declarative module; the page's markup says what each key does.

   Include ui/_shortcuts.html once inside <body> (it loads this file with `defer`, shortcuts.css and the help
   overlay). Then mark the page up:

     data-shortcut="r"             On a button, link, checkbox...: the key clicks it. On a text field (input,
                                   textarea, select, contenteditable): the key focuses it (data-shortcut="/"
                                   on the search box). Letters ignore Caps Lock; "shift+x" needs Shift; "g i" is
                                   a sequence (g, then i within 1.5 s). Letters also work by their physical
                                   key on a Russian layout ("о" is j). If several elements share a key, the
                                   first visible, enabled one in document order wins. A page's key wins over
                                   a built-in one.
     data-shortcut-label="Reply"   The action's name in the help overlay (translate it in the template).
                                   Without it: aria-label, title, the field's <label>, placeholder, the text.
     data-nav-list                 On the container of a list (a <tbody>, <ul>...).
     data-nav-row="<id>"           On each row of it. j / k move the current row (class `is-current`,
                                   aria-current="true", scrolled into view, its link focused); Enter or o
                                   open it. The value (the ticket's id) keeps the current row across an
                                   htmx swap of the list; without a value the row's link is its identity.
     a[data-nav-link]              The row's link that Enter / o open (default: the row's first link).
     [data-shortcut-next], [data-shortcut-prev], a[rel=next], a[rel=prev], <link rel="next|prev" href>
                                   On a page without a list (a ticket page): j / k follow the first of these
                                   (next for j, previous for k).
     data-shortcut-help-open       Any element that opens the help overlay when clicked (e.g. a footer link).
     <html data-shortcuts="off">   Switches every shortcut off (a user preference, read at each key press).

   Built in: j / k, Enter / o, ? (shows or hides the overlay: <dialog id="shortcut-help"> of the partial),
   Esc (closes the overlay; in a text field it leaves the field so that the keys work again, unless
   another script already used that Escape, the field is in an open dialog, or a search box has text).

   Nothing fires while typing in a text field, select or contenteditable, with Ctrl / Meta / Alt held,
   while a dialog other than the overlay is open, during IME composition, or for a key another script has
   already handled (event.defaultPrevented). Holding a key repeats only j / k.
   Listeners sit on the document, so content swapped in by htmx works at once.
*/
(function () {
  "use strict";
  if (window.otklikShortcuts) return;
  window.otklikShortcuts = true;

  const HELP_ID = "shortcut-help";
  const SEQUENCE_MS = 1500;
  // Input types that take no typing: a key pressed on them is a shortcut, and a shortcut clicks them.
  const NOT_TYPED = new Set([
    "button", "checkbox", "color", "file", "hidden", "image", "radio", "range", "reset", "submit",
  ]);
  const INTERACTIVE = "a[href], button, input, select, textarea, summary, label, [role=button], [role=link]";

  let pending = ""; // the first key of a sequence ("g" of "g i"), waiting for the second
  let pendingTimer = 0;
  let remembered = null; // the current row's identity, to find it again after an htmx swap

  function switchedOff() {
    return document.documentElement.dataset.shortcuts === "off";
  }

  function isTextField(el) {
    if (!el || el.nodeType !== 1) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    return el.tagName === "INPUT" && !NOT_TYPED.has((el.getAttribute("type") || "text").toLowerCase());
  }

  function visible(el) {
    if (el.closest("[inert]")) return false;
    if (typeof el.checkVisibility === "function") {
      return el.checkVisibility({ visibilityProperty: true, checkVisibilityCSS: true });
    }
    return el.getClientRects().length > 0;
  }

  function usable(el) {
    return !el.disabled && el.getAttribute("aria-disabled") !== "true" && !el.closest("#" + HELP_ID) && visible(el);
  }

  // "Shift+X" -> "shift+x", "g  I" -> "g i", "/" -> "/"; named keys ("Enter") keep their case.
  function normalise(spec) {
    return spec
      .trim()
      .split(/\s+/)
      .map(function (part) {
        const shift = /^shift\+(.+)$/i.exec(part);
        if (shift) return "shift+" + shift[1].toLowerCase();
        return part.length === 1 ? part.toLowerCase() : part;
      })
      .join(" ");
  }

  // The pressed key in the same notation. A letter of another alphabet counts as the Latin letter of its
  // physical key (Russian "о" is on J), and the Russian layout's "." / "," key (US "/") as "/" / "?".
  function keyName(event) {
    let key = event.key || "";
    const code = event.code || "";
    if (key.length === 1 && /^Key[A-Z]$/.test(code) && /\p{L}/u.test(key) && !/[a-z]/i.test(key)) {
      key = code.slice(3);
    } else if (code === "Slash" && (key === "." || key === ",")) {
      key = event.shiftKey ? "?" : "/";
    }
    if (/^[a-z]$/i.test(key)) return (event.shiftKey ? "shift+" : "") + key.toLowerCase();
    return key;
  }

  // The page's shortcuts: key -> the element it activates (the first usable one in document order).
  function pageShortcuts() {
    const found = new Map();
    for (const el of document.querySelectorAll("[data-shortcut]")) {
      const key = normalise(el.dataset.shortcut || "");
      if (key && !found.has(key) && usable(el)) found.set(key, el);
    }
    return found;
  }

  function activate(el) {
    if (isTextField(el)) {
      el.focus();
      if (el.tagName === "TEXTAREA") el.setSelectionRange(el.value.length, el.value.length);
      else if (el.tagName === "INPUT" && typeof el.select === "function") el.select();
    } else {
      el.click();
    }
  }

  // ---- lists: the current row ----

  function navList() {
    const lists = Array.from(document.querySelectorAll("[data-nav-list]")).filter(visible);
    return lists.find((list) => list.querySelector("[data-nav-row].is-current")) || lists[0] || null;
  }

  function rowLink(row) {
    return row.querySelector("a[data-nav-link][href]") || row.querySelector("a[href]");
  }

  function rowIdentity(row) {
    if (row.dataset.navRow) return "row:" + row.dataset.navRow;
    const link = rowLink(row);
    return link ? "link:" + link.href : null;
  }

  function setCurrent(row, how) {
    for (const other of document.querySelectorAll("[data-nav-row].is-current")) {
      if (other === row) continue;
      other.classList.remove("is-current");
      other.removeAttribute("aria-current");
    }
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
    remembered = rowIdentity(row);
    if (how.scroll) row.scrollIntoView({ block: "nearest" });
    if (how.focus) {
      // Focus announces the row to screen readers, and Enter on the focused link opens it natively.
      const link = rowLink(row);
      if (link) link.focus({ preventScroll: true });
    }
  }

  function step(delta) {
    const list = navList();
    if (!list) return followNeighbour(delta > 0 ? "next" : "prev");
    const rows = Array.from(list.querySelectorAll("[data-nav-row]")).filter(visible);
    if (!rows.length) return false;
    const index = rows.indexOf(list.querySelector("[data-nav-row].is-current"));
    const next = index === -1 ? 0 : Math.min(rows.length - 1, Math.max(0, index + delta));
    setCurrent(rows[next], { scroll: true, focus: true });
    return true;
  }

  function openCurrent() {
    const list = navList();
    const row = list && list.querySelector("[data-nav-row].is-current");
    const link = row && visible(row) && rowLink(row);
    if (!link) return false;
    link.click();
    return true;
  }

  // After an htmx swap the list's rows are new elements: mark the row that was current again.
  function restoreCurrent() {
    if (!remembered || document.querySelector("[data-nav-row].is-current")) return;
    for (const row of document.querySelectorAll("[data-nav-list] [data-nav-row]")) {
      if (rowIdentity(row) === remembered && visible(row)) {
        const lostFocus = !document.activeElement || document.activeElement === document.body;
        setCurrent(row, { scroll: false, focus: lostFocus });
        return;
      }
    }
  }

  // ---- a page without a list: the next / previous ticket ----

  function neighbour(which) {
    const rels = which === "next" ? ["next"] : ["prev", "previous"];
    const marked = Array.from(document.querySelectorAll("[data-shortcut-" + which + "]")).find(usable);
    if (marked) return marked;
    for (const rel of rels) {
      const anchor = Array.from(document.querySelectorAll('a[href][rel~="' + rel + '"]')).find(usable);
      if (anchor) return anchor;
    }
    for (const rel of rels) {
      const link = document.querySelector('link[href][rel~="' + rel + '"]');
      if (link) return link;
    }
    return null;
  }

  function followNeighbour(which) {
    const target = neighbour(which);
    if (!target) return false;
    if (target.tagName === "LINK") window.location.assign(target.href);
    else activate(target);
    return true;
  }

  // ---- the help overlay ----

  function helpDialog() {
    const dialog = document.getElementById(HELP_ID);
    return dialog && typeof dialog.showModal === "function" ? dialog : null;
  }

  function labelOf(el) {
    const text = (value) => (value || "").replace(/\s+/g, " ").trim();
    return (
      text(el.dataset.shortcutLabel) ||
      text(el.getAttribute("aria-label")) ||
      text(el.getAttribute("title")) ||
      (el.labels && el.labels.length ? text(el.labels[0].textContent) : "") ||
      text(el.getAttribute("placeholder")) ||
      text(el.textContent)
    );
  }

  function keyCell(key, then) {
    const cell = document.createElement("th");
    cell.scope = "row";
    key.split(" ").forEach(function (part, index) {
      if (index) cell.append(" " + then + " ");
      const shift = /^shift\+(.+)$/.exec(part);
      if (shift) {
        const kbd = document.createElement("kbd");
        kbd.textContent = "Shift";
        cell.append(kbd, "+");
        part = shift[1].toUpperCase();
      }
      const kbd = document.createElement("kbd");
      kbd.textContent = part;
      cell.append(kbd);
    });
    return cell;
  }

  function fillHelp(dialog) {
    const body = dialog.querySelector("[data-shortcut-help-rows]");
    const found = pageShortcuts();
    if (body) {
      const then = dialog.dataset.then || "";
      body.replaceChildren();
      for (const [key, el] of found) {
        const row = document.createElement("tr");
        const action = document.createElement("td");
        action.textContent = labelOf(el);
        row.append(keyCell(key, then), action);
        body.append(row);
      }
    }
    // Built-in rows say what j / k / Enter do here: move in a list, or go to the next / previous ticket.
    const hasList = Boolean(navList());
    const hasNeighbours = !hasList && Boolean(neighbour("next") || neighbour("prev"));
    for (const row of dialog.querySelectorAll("[data-shortcut-builtin]")) {
      const kind = row.dataset.shortcutBuiltin;
      row.hidden = (kind === "list" && !hasList) || (kind === "neighbours" && !hasNeighbours);
    }
  }

  function toggleHelp() {
    const dialog = helpDialog();
    if (!dialog) return false;
    if (dialog.open) {
      dialog.close();
    } else {
      fillHelp(dialog);
      dialog.showModal();
    }
    return true;
  }

  function otherDialogOpen() {
    for (const dialog of document.querySelectorAll("dialog[open], [aria-modal=true]")) {
      if (dialog.id !== HELP_ID && visible(dialog)) return true;
    }
    return false;
  }

  // ---- the keys ----

  function clearPending() {
    pending = "";
    clearTimeout(pendingTimer);
  }

  document.addEventListener("keydown", function (event) {
    if (switchedOff() || event.defaultPrevented || event.isComposing) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTextField(event.target)) return;
    const help = helpDialog();
    const key = keyName(event);
    if (help && help.open) {
      // The overlay is modal: Esc closes it natively, ? closes it too, nothing else fires behind it.
      if (key === "?") {
        event.preventDefault();
        help.close();
      }
      return;
    }
    if (otherDialogOpen()) return;
    if (event.repeat && key !== "j" && key !== "k") return;

    const found = pageShortcuts();
    if (pending) {
      const sequence = found.get(pending + " " + key);
      clearPending();
      if (sequence) {
        event.preventDefault();
        activate(sequence);
        return;
      }
      // Not a known sequence: the key counts on its own.
    }
    for (const spec of found.keys()) {
      if (spec.startsWith(key + " ")) {
        event.preventDefault();
        pending = key;
        pendingTimer = setTimeout(clearPending, SEQUENCE_MS);
        return;
      }
    }

    let handled = false;
    const el = found.get(key);
    if (el) {
      activate(el);
      handled = true;
    } else if (key === "j") {
      handled = step(1);
    } else if (key === "k") {
      handled = step(-1);
    } else if (key === "o" || (key === "Enter" && !(event.target.closest && event.target.closest(INTERACTIVE)))) {
      handled = openCurrent();
    } else if (key === "?") {
      handled = toggleHelp();
    }
    if (handled) event.preventDefault();
  });

  // Esc in a text field leaves it, so the keys work again. On window: it runs after every document-level
  // handler (the process card's Escape closes its form first), and leaves alone an Escape one has used.
  window.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || switchedOff() || event.defaultPrevented || event.isComposing) return;
    const field = document.activeElement;
    if (!isTextField(field) || !field.contains(event.target)) return;
    if (field.closest("dialog[open]")) return; // Esc closes that dialog
    if (field.getAttribute("type") === "search" && field.value) return; // Esc clears the search box first
    field.blur();
  });

  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element)) return;
    const help = helpDialog();
    if (help && event.target === help) {
      help.close(); // a click on the backdrop
      return;
    }
    const opener = event.target.closest("[data-shortcut-help-open]");
    if (opener) {
      event.preventDefault();
      if (help && !help.open) toggleHelp();
      return;
    }
    // A click inside a row (its checkbox...) makes it current, so j / k continue from there.
    const row = event.target.closest("[data-nav-list] [data-nav-row]");
    if (row && !switchedOff()) setCurrent(row, { scroll: false, focus: false });
  });

  document.addEventListener("htmx:afterSwap", restoreCurrent);
})();
