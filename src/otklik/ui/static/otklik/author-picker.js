// The staff new-ticket form's author picker: a combobox whose listbox htmx fills from the server as one
// types. Arrow keys move through the options (aria-activedescendant: focus stays in the input), Enter or
// a click chooses one, Escape closes the list. Choosing puts the person's id into the hidden "author"
// field; typing again forgets the choice, so what is sent always matches what is shown.
(function () {
  "use strict";
  for (const picker of document.querySelectorAll("[data-author-picker]")) {
    const input = picker.querySelector("[role=combobox]");
    const list = picker.querySelector("[role=listbox]");
    const chosen = picker.querySelector("input[type=hidden]");
    const status = picker.querySelector("[data-picker-status]");
    if (!input || !list || !chosen) continue;
    const hint = status ? status.textContent : "";
    let active = -1;
    let picked = false;

    const options = () => Array.from(list.querySelectorAll("[role=option]:not([aria-disabled=true])"));

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      const all = options();
      if (!all.length) return;
      active = (index + all.length) % all.length;
      all.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    }

    function choose(option) {
      picked = true;
      chosen.value = option.dataset.id || "";
      input.value = option.dataset.label || "";
      // Say what the choice means, in the page's language (the template gives the words).
      if (status) {
        status.textContent = option.dataset.id
          ? (picker.dataset.chosenText || "") + " " + option.textContent.trim()
          : picker.dataset.newText || option.textContent.trim();
      }
      close();
    }

    input.addEventListener("input", function () {
      // The text no longer names the chosen person: the server resolves what is typed instead.
      picked = false;
      chosen.value = "";
      if (status) status.textContent = hint;
      if (input.value.trim() === "") close();
    });

    input.addEventListener("keydown", function (event) {
      const expanded = !list.hidden && options().length > 0;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!list.children.length) return;
        event.preventDefault();
        open();
        highlight(active < 0 ? (event.key === "ArrowDown" ? 0 : -1) : active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && expanded && active >= 0) {
        event.preventDefault(); // choose, do not send the form
        choose(options()[active]);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
      }
    });

    // mousedown, not click: the input keeps the focus, so the list does not close under the pointer.
    list.addEventListener("mousedown", function (event) {
      const option = event.target.closest("[role=option]");
      event.preventDefault();
      if (option && option.getAttribute("aria-disabled") !== "true") choose(option);
    });

    input.addEventListener("blur", function () {
      close();
    });

    // htmx put the server's answer into the list: show it, nothing highlighted yet (unless an answer
    // to earlier typing arrives after a choice was made: the choice stands).
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target !== list) return;
      active = -1;
      input.removeAttribute("aria-activedescendant");
      const typing = !picked && document.activeElement === input && input.value.trim() !== "";
      if (list.children.length && typing) open();
      else close();
    });
  }
})();
