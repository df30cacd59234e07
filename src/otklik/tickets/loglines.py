"""Log lines as data, rendered in the reader's language (issue 12).

A log message (kind "log") keeps what happened in `Message.data`, a list of items:

- ``{"field": "status", "old": V, "new": V}``: a field changed. A value V is ``None`` (nothing), a plain
  string shown as is (titles, numbers, people), or ``{"ru": ..., "en": ...}`` for anything that has a
  name in each language (dictionary entries, SLA levels, yes/no, spam states);
- ``{"code": "overdue"}``: a line the system writes, rendered from the catalogue below (other keys
  fill its placeholders);
- ``{"text": "..."}``: text kept as written (old rows the migration could not read).

Every place that shows log lines (ticket pages, the history export, the API, mails) renders them here,
in the active language, so a change made under Russian reads in English for an English reader.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop

from otklik.accounts.selectors import display_name

LANGUAGES = ("ru", "en")
NOTHING = "—"
ARROW = "→"

# The lines the system writes (the SLA job), by code; rendered in the reader's language.
# Their other keys fill the placeholders (the split notes are client-visible messages, not log lines).
CODES = {
    "overdue": gettext_noop("Overdue: the response deadline passed."),
    "auto_closed": gettext_noop("Closed automatically: the client did not reply."),
    "split_from": gettext_noop("This ticket was split from ticket #%(id)s."),
    "split_into": gettext_noop("Message #%(n)s was split into ticket #%(id)s."),
    "process_move": gettext_noop("Process: %(transition)s"),
    "process_reopen": gettext_noop("Process: the ticket was reopened and goes back to the start"),
    "process_closed": gettext_noop("Process: the ticket was closed outside the process and leaves it"),
    "process_admin": gettext_noop("Taken by a support admin in place of the role"),
    # Automation rules (P6): a firing, a refusal, a loop stopped.
    "rule": gettext_noop("Rule “%(rule)s” %(did)s"),
    "rule_refused": gettext_noop("Rule “%(rule)s” could not act: %(reason)s"),
    "rule_loop": gettext_noop("Rule “%(rule)s” was stopped: the rules kept changing this ticket (a loop)"),
    "macro": gettext_noop("Macro “%(name)s” applied"),
    # Merge (issue 18, P1): what moved, with the moved messages' numbers before and after.
    "merged_into": gettext_noop("Merged into ticket #%(id)s: its messages and files moved there."),
    "merged_from": gettext_noop(
        "Ticket #%(id)s was merged into this one: its messages %(old)s are now %(new)s, files moved: %(files)s."
    ),
    "merged_cc": gettext_noop("Moved from ticket #%(id)s: copies (CC) %(emails)s."),
}
# Changes that read badly as "X set <field> to <value>": their own sentence (values: who, field, old, new).
FIELD_SENTENCES = {
    "merged_into": gettext_noop("%(who)s merged this ticket into %(new)s"),
    "merged_from": gettext_noop("%(who)s merged ticket %(new)s into this one"),
    "link": gettext_noop("%(who)s linked this ticket: %(new)s"),
}
YES = gettext_noop("yes")
NO = gettext_noop("no")


def in_both_languages(message: str) -> dict[str, str]:
    """Return a translatable message (an English msgid) translated into each language."""
    texts = {}
    for language in LANGUAGES:
        with translation.override(language):
            texts[language] = gettext(message)
    return texts


def _lazy_in_both_languages(text: Promise) -> dict[str, str]:
    texts = {}
    for language in LANGUAGES:
        with translation.override(language):
            texts[language] = str(text)
    return texts


def log_value(value: Any) -> Any:
    """Turn a field's value into what a log item stores: None, a plain string or both languages' names."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return in_both_languages(YES if value else NO)
    if isinstance(value, User):
        return display_name(value)
    if isinstance(value, Promise):  # a lazily translated label (choices)
        return _lazy_in_both_languages(value)
    if hasattr(value, "name_ru") and hasattr(value, "name_en"):  # dictionary entries, SLA levels
        return {"ru": value.name_ru or value.name_en, "en": value.name_en or value.name_ru}
    return str(value)


def value_text(value: Any) -> str:
    """Render a stored value in the active language (the other language's when this one is missing)."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, dict):
        language = "en" if (translation.get_language() or "ru").startswith("en") else "ru"
        other = "ru" if language == "en" else "en"
        return str(value.get(language) or value.get(other) or NOTHING)
    return str(value)


def field_label(field: str) -> str:
    """Return the label of a history field in the active language (a custom field shows its code)."""
    from otklik.tickets.models import FIELD_LABELS

    if field.startswith("custom:"):
        return field.removeprefix("custom:")
    return str(FIELD_LABELS.get(field, field))


def change_item(field: str, old: Any, new: Any) -> dict:
    """Return the log item of one field's change; values are stored with `log_value` first."""
    return {"field": field, "old": old, "new": new}


def change_line(field: str, old: Any, new: Any) -> str:
    """Render one change as "label: old → new" in the active language."""
    return f"{field_label(field)}: {value_text(old)} {ARROW} {value_text(new)}"


def item_text(item: Any) -> str:
    """Render one log item in the active language."""
    if not isinstance(item, dict):
        return str(item)
    if "field" in item:
        return change_line(str(item["field"]), item.get("old"), item.get("new"))
    if "code" in item:
        message = CODES.get(str(item["code"]))
        if message is None:
            return str(item["code"])
        text = gettext(message)
        try:
            # A placeholder's value may be a name in both languages (a process move's transition).
            values = {
                key: value_text(value) if isinstance(value, dict) else value for key, value in item.items()
            }
            return text % values if "%(" in text else text
        except (KeyError, TypeError, ValueError):  # an item that lacks a placeholder's value
            return text
    return str(item.get("text", ""))


def log_lines(data: Any) -> list[str]:
    """Render a message's log items, one line each, in the active language."""
    return [item_text(item) for item in data or ()]


def item_sentence(item: Any, who: str) -> str:
    """Render one log item as a sentence naming who made the change, in the active language."""
    who = who or gettext("The system")
    if isinstance(item, dict) and "field" in item:
        values = {
            "who": who,
            "field": field_label(str(item["field"])),
            "old": value_text(item.get("old")),
            "new": value_text(item.get("new")),
        }
        special = FIELD_SENTENCES.get(str(item["field"]))
        if special is not None and item.get("new") not in (None, ""):
            return gettext(special) % values
        if item.get("new") in (None, ""):
            return gettext("%(who)s cleared %(field)s (was %(old)s)") % values
        return gettext("%(who)s set %(field)s to %(new)s") % values
    return item_text(item)


def log_sentences(data: Any, who: str) -> list[str]:
    """Render a message's log items as sentences naming who made them (the ticket page's system events)."""
    return [item_sentence(item, who) for item in data or ()]


def log_text(data: Any) -> str:
    return "\n".join(log_lines(data))


def log_text_default(data: Any) -> str:
    """Render the items in the site's language: the `body` kept for search and older readers."""
    with translation.override(settings.LANGUAGE_CODE):
        return log_text(data)


def event_values(event, data: Any = None) -> tuple[str, str]:
    """Return a history event's old and new values in the active language.

    They come from the event's own data, else from the item of its log message's `data` that names the
    same field (rows written before events had data); failing both, the text the event was written with.
    """
    if isinstance(event.data, dict):
        return value_text(event.data.get("old")), value_text(event.data.get("new"))
    for item in data or ():
        if isinstance(item, dict) and item.get("field") == event.field:
            return value_text(item.get("old")), value_text(item.get("new"))
    return event.old, event.new
