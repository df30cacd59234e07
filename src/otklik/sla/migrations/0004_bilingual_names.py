"""Keep SLA level, timetable and exception names (and SLA descriptions) in Russian and English.

They were single strings holding "Russian · English"; the split puts the Russian part first and the English
second, and a value without the separator goes to both languages. Descriptions the demo wrote as
"Russian. / English." are split on " / " too.
"""

from django.db import migrations, models
from django.utils import translation

SEPARATOR = " · "
# The names `sla apply-calendar` gave its rows, in the language of the moment (English msgids).
CALENDAR_NAMES = ("Public holiday", "Public holidays", "Transferred working day", "Pre-holiday short day")


def calendar_names():
    """Return {name as written in either language: (Russian, English)} for the calendar's rows."""
    names = {}
    for msgid in CALENDAR_NAMES:
        both = []
        for language in ("ru", "en"):
            with translation.override(language):
                both.append(translation.gettext(msgid))
        for text in both:
            names[text] = tuple(both)
    return names


def split(value, separators=(SEPARATOR,)):
    value = (value or "").strip()
    for separator in separators:
        ru, found, en = value.partition(separator)
        if found:
            return ru.strip(), en.strip()
    return value, value


def forwards(apps, schema_editor):
    generated = calendar_names()
    for model_name in ("Timetable", "CalendarException", "SlaLevel"):
        model = apps.get_model("sla", model_name)
        rows = list(model.objects.all())
        for row in rows:
            row.name_ru, row.name_en = split(row.name)
            if getattr(row, "origin", "").startswith("calendar:") and row.name in generated:
                row.name_ru, row.name_en = generated[row.name]
            if model_name == "SlaLevel":
                row.description_ru, row.description_en = split(row.description, (SEPARATOR, " / "))
        fields = ["name_ru", "name_en"] + (
            ["description_ru", "description_en"] if model_name == "SlaLevel" else []
        )
        model.objects.bulk_update(rows, fields, batch_size=500)
    SlaEvent = apps.get_model("sla", "SlaEvent")
    # Timeline steps keep the name they were written with: one UPDATE per distinct name, not per row.
    for name in SlaEvent.objects.exclude(sla_name="").values_list("sla_name", flat=True).distinct():
        ru, en = split(name)
        SlaEvent.objects.filter(sla_name=name).update(sla_name=ru, sla_name_en=en)


def backwards(apps, schema_editor):
    def join(ru, en):
        return ru if (ru == en or not en) else (en if not ru else f"{ru}{SEPARATOR}{en}")

    for model_name in ("Timetable", "CalendarException", "SlaLevel"):
        model = apps.get_model("sla", model_name)
        rows = list(model.objects.all())
        for row in rows:
            row.name = join(row.name_ru, row.name_en)
            if model_name == "SlaLevel":
                row.description = join(row.description_ru, row.description_en)
        fields = ["name"] + (["description"] if model_name == "SlaLevel" else [])
        model.objects.bulk_update(rows, fields, batch_size=500)
    SlaEvent = apps.get_model("sla", "SlaEvent")
    for ru, en in SlaEvent.objects.exclude(sla_name_en="").values_list("sla_name", "sla_name_en").distinct():
        SlaEvent.objects.filter(sla_name=ru, sla_name_en=en).update(sla_name=join(ru, en))


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0003_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="timetable",
            name="name_ru",
            field=models.CharField(blank=True, max_length=200, verbose_name="name (Russian)"),
        ),
        migrations.AddField(
            model_name="timetable",
            name="name_en",
            field=models.CharField(blank=True, max_length=200, verbose_name="name (English)"),
        ),
        migrations.AddField(
            model_name="calendarexception",
            name="name_ru",
            field=models.CharField(blank=True, max_length=200, verbose_name="name (Russian)"),
        ),
        migrations.AddField(
            model_name="calendarexception",
            name="name_en",
            field=models.CharField(blank=True, max_length=200, verbose_name="name (English)"),
        ),
        migrations.AddField(
            model_name="slalevel",
            name="name_ru",
            field=models.CharField(blank=True, max_length=200, verbose_name="name (Russian)"),
        ),
        migrations.AddField(
            model_name="slalevel",
            name="name_en",
            field=models.CharField(blank=True, max_length=200, verbose_name="name (English)"),
        ),
        migrations.AddField(
            model_name="slalevel",
            name="description_ru",
            field=models.TextField(
                blank=True,
                help_text="Shown to the client on the ticket page.",
                verbose_name="description (Russian)",
            ),
        ),
        migrations.AddField(
            model_name="slalevel",
            name="description_en",
            field=models.TextField(blank=True, verbose_name="description (English)"),
        ),
        migrations.AddField(
            model_name="slaevent",
            name="sla_name_en",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AlterModelOptions(
            name="timetable",
            options={
                "ordering": ["name_ru", "name_en"],
                "verbose_name": "timetable",
                "verbose_name_plural": "timetables",
            },
        ),
        migrations.AlterModelOptions(
            name="slalevel",
            options={
                "ordering": ["-priority", "name_ru", "name_en"],
                "verbose_name": "SLA level",
                "verbose_name_plural": "SLA levels",
            },
        ),
        # A default first, so that undoing the removal can add the columns back to filled tables.
        migrations.AlterField(
            model_name="timetable", name="name", field=models.CharField(default="", max_length=200)
        ),
        migrations.AlterField(
            model_name="calendarexception", name="name", field=models.CharField(default="", max_length=200)
        ),
        migrations.AlterField(
            model_name="slalevel", name="name", field=models.CharField(default="", max_length=200)
        ),
        migrations.AlterField(
            model_name="slalevel", name="description", field=models.TextField(blank=True, default="")
        ),
        migrations.RemoveField(model_name="timetable", name="name"),
        migrations.RemoveField(model_name="calendarexception", name="name"),
        migrations.RemoveField(model_name="slalevel", name="name"),
        migrations.RemoveField(model_name="slalevel", name="description"),
    ]
