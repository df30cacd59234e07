from django.db import migrations


def seed(apps, schema_editor):
    from otklik.dictionaries.seed import load_dictionaries

    load_dictionaries(apps.get_model("tickets", "DictionaryEntry"))


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_search_index")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
