"""Keep log lines as data rendered in the reader's language (issue 12), and convert the existing rows.

Log messages were text frozen in the language of the moment they were written. The conversion reads the
formats written until now, in Russian or English: "<field label>: old → new" lines (the labels of the
change history in both languages) and the SLA job's lines; split notes too. Values that have a name in
each language (dictionary entries, SLA levels, yes/no, spam states) are stored with both names; anything
else it cannot read is kept as a {"text": ...} item, shown as written.
"""

from django.db import migrations, models
from django.utils import translation

ARROW = " → "
NOTHING = "—"
LANGUAGES = ("ru", "en")

# The history's field labels as they were written (English msgids; Russian from the translations).
FIELD_MSGIDS = {
    "title": "title",
    "category": "category",
    "criticality": "criticality",
    "status": "status",
    "difficulty": "difficulty",
    "mark": "mark",
    "sla": "SLA",
    "responsible": "responsible",
    "author": "author",
    "source": "source",
    "admin_comment": "administrator's comment",
    "auto_close_days": "auto-close days",
    "is_postponed": "postponed",
    "closed": "closed",
    "overdue": "response deadline passed",
    "spam": "spam",
    "split": "split",
    "created": "created",
    "message_edited": "message edited",
    "message_deleted": "message deleted",
    "ticket_type": "type",
    "tier": "tier",
    "planned_effort_minutes": "planned effort, minutes",
    "expected_date": "expected resolution date",
}
LINE_MSGIDS = {
    "overdue": "Overdue: the response deadline passed.",
    "auto_closed": "Closed automatically: the client did not reply.",
}
# Values that were written translated, by the fields that have them.
VALUE_MSGIDS = {
    ("is_postponed", "closed", "overdue"): ("yes", "no"),
    ("spam",): ("not spam", "possible spam", "spam"),
}
DICTIONARY_FIELDS = {
    "category": "category",
    "criticality": "criticality",
    "status": "status",
    "difficulty": "difficulty",
    "mark": "mark",
    "source": "source",
}


def in_languages(msgid):
    texts = {}
    for language in LANGUAGES:
        with translation.override(language):
            texts[language] = translation.gettext(msgid)
    return texts


def vocabulary():
    """Return the labels, system lines and translated values as the converter reads them."""
    labels = {}
    for field, msgid in FIELD_MSGIDS.items():
        for text in in_languages(msgid).values():
            labels.setdefault(text.lower(), field)
    lines = {}
    for code, msgid in LINE_MSGIDS.items():
        for text in in_languages(msgid).values():
            lines[text] = code
    values = {}
    for fields, msgids in VALUE_MSGIDS.items():
        for msgid in msgids:
            both = in_languages(msgid)
            for field in fields:
                for text in both.values():
                    values.setdefault((field, text), both)
    return labels, lines, values


def log_body_to_data(body, *, labels, lines, values):
    """Turn a log message's text into log items (pure: the vocabulary comes in as arguments).

    `labels` maps a lower-cased field label (either language) to the field, `lines` a system line to its
    code, and `values` maps (field, text) to the value's names in both languages.
    """
    items = []
    for line in (body or "").replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        if line in lines:
            items.append({"code": lines[line]})
            continue
        label, colon, rest = line.partition(": ")
        field = labels.get(label.strip().lower()) if colon else None
        if field is None or ARROW not in f" {rest} ":
            items.append({"text": line})
            continue
        # "split" writes "— → → #12": the first arrow separates the values.
        old, _arrow, new = f"{rest} ".partition(ARROW)
        items.append(
            {
                "field": field,
                "old": _value(field, old.strip(), values),
                "new": _value(field, new.strip(), values),
            }
        )
    return items


def _value(field, text, values):
    if text in ("", NOTHING):
        return None
    return values.get((field, text)) or text


def _entity_values(apps):
    """Return the names of dictionary entries and SLA levels in both languages, by what a line may say."""
    values = {}
    try:
        DictionaryEntry = apps.get_model("tickets", "DictionaryEntry")
    except LookupError:  # called with the project's app registry, where the model now lives in dictionaries
        DictionaryEntry = apps.get_model("dictionaries", "DictionaryEntry")
    for kind, ru, en in DictionaryEntry.objects.values_list("kind", "name_ru", "name_en"):
        both = {"ru": ru or en, "en": en or ru}
        for field, field_kind in DICTIONARY_FIELDS.items():
            if field_kind == kind:
                for text in (ru, en):
                    if text:
                        values.setdefault((field, text), both)
    SlaLevel = apps.get_model("sla", "SlaLevel")
    for ru, en in SlaLevel.objects.values_list("name_ru", "name_en"):
        both = {"ru": ru or en, "en": en or ru}
        for text in (ru, en, f"{ru} · {en}"):
            if text:
                values.setdefault(("sla", text), both)
    return values


def split_note_patterns():
    """Return (regex, code) pairs for the split notes in both languages."""
    import re

    notes = {
        "split_from": "This ticket was split from ticket #%(id)s.",
        "split_into": "Message #%(n)s was split into ticket #%(id)s.",
    }
    patterns = []
    for code, msgid in notes.items():
        for text in in_languages(msgid).values():
            pattern = (
                re.escape(text)
                .replace(re.escape("%(id)s"), r"(?P<id>\d+)")
                .replace(re.escape("%(n)s"), r"(?P<n>\d+)")
            )
            patterns.append((re.compile(f"^{pattern}$"), code))
    return patterns


def forwards(apps, schema_editor):
    Message = apps.get_model("tickets", "Message")
    labels, lines, values = vocabulary()
    values.update(_entity_values(apps))
    memo = {}
    batch = []
    rows = Message.objects.filter(kind="log", data__isnull=True).only("pk", "body").order_by("pk")
    for message in rows.iterator(chunk_size=2000):
        if message.body not in memo:
            memo[message.body] = log_body_to_data(message.body, labels=labels, lines=lines, values=values)
        message.data = memo[message.body]
        batch.append(message)
        if len(batch) >= 1000:
            Message.objects.bulk_update(batch, ["data"])
            batch = []
    if batch:
        Message.objects.bulk_update(batch, ["data"])
    # The split notes are client-visible messages that were written in the splitter's language.
    patterns = split_note_patterns()
    notes = []
    for message in Message.objects.filter(kind="nostatus", data__isnull=True, body__contains="#").only(
        "pk", "body"
    ):
        for pattern, code in patterns:
            match = pattern.match(message.body.strip())
            if match:
                message.data = [{"code": code, **{k: int(v) for k, v in match.groupdict().items()}}]
                notes.append(message)
                break
    Message.objects.bulk_update(notes, ["data"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0012_message_quoted"),
        ("sla", "0004_bilingual_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="data",
            field=models.JSONField(blank=True, null=True, verbose_name="log data"),
        ),
        migrations.AddField(
            model_name="ticketevent",
            name="data",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
