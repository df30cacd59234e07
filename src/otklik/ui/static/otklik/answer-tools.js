// The staff answer box's helpers: quote a message, insert a frequent answer or a knowledge base article.
(function () {
  "use strict";
  const body = document.getElementById("id_reply-body");
  if (!body) return;

  function append(text) {
    body.value = (body.value ? body.value + "\n\n" : "") + text;
    body.focus();
    // Typing and inserting both count as answering (presence.js listens for "input").
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Quote: put the message's text into the answer box as a Markdown quote ("> " before each line),
  // then an empty line, so what is typed next is the answer and not part of the quote.
  function quoted(raw) {
    const lines = raw.replace(/\r\n?/g, "\n").replace(/\s+$/, "").split("\n");
    return lines.map(function (line) { return line ? "> " + line : ">"; }).join("\n");
  }

  // Delegated: messages that arrive live (live.js) get the same link.
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a.quote");
    if (!link) return;
    const source = document.querySelector("#m" + link.dataset.number + " .body");
    const raw = (source && source.dataset.raw) || "";
    const before = body.value.replace(/\s+$/, "");
    body.value = (before ? before + "\n\n" : "") + quoted(raw) + "\n\n";
    body.focus();
    body.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // Knowledge base articles (the picker's list arrives by htmx): a button carries the link or the text.
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("button.kb-insert");
    if (button && button.dataset.insert) append(button.dataset.insert);
  });

  // Frequent answers: the chosen one is appended, and the picker goes back to its prompt.
  const picker = document.getElementById("frequent");
  if (picker) {
    picker.addEventListener("change", function () {
      if (picker.value) {
        append(picker.value);
        picker.value = "";
      }
    });
  }
})();
