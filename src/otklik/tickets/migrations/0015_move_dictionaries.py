"""Hand the dictionary entries over to the dictionaries app (state only: the table and its rows stay).

The tickets' foreign keys are pointed at the new app's model and the model leaves the tickets state; the
content type follows, so granted permissions keep working.
"""

import django.db.models.deletion
from django.db import migrations, models


def _move_content_type(apps, schema_editor):
    """Give the model's content type to the dictionaries app, so its permissions and admin log stay attached."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    old = ContentType.objects.using(db).filter(app_label="tickets", model="dictionaryentry")
    if not old.exists():
        return  # a fresh database: post_migrate creates the new one
    # A content type made for the new label in between (no permissions granted yet) gives way to the old one.
    ContentType.objects.using(db).filter(app_label="dictionaries", model="dictionaryentry").delete()
    old.update(app_label="dictionaries")


def _return_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if ContentType.objects.using(db).filter(app_label="tickets", model="dictionaryentry").exists():
        return
    ContentType.objects.using(db).filter(app_label="dictionaries", model="dictionaryentry").update(
        app_label="tickets"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("dictionaries", "0001_initial"),
        ("mail", "0003_dictionaries_app"),
        ("sla", "0006_dictionaries_app"),
        ("tickets", "0014_audit_trail"),
    ]

    operations = [
        # State only: the table, its rows and the foreign keys in the database stay as they are.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ticket",
                    name="difficulty",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        limit_choices_to={"kind": "difficulty"},
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="difficulty",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="criticality",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        limit_choices_to={"kind": "criticality"},
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="criticality",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="category",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        limit_choices_to={"kind": "category"},
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="category",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="mark",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        limit_choices_to={"kind": "mark"},
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="mark",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="source",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="source",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="source",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        limit_choices_to={"kind": "source"},
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="source",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="status",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        limit_choices_to={"kind": "status"},
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="status",
                    ),
                ),
                migrations.DeleteModel(
                    name="DictionaryEntry",
                ),
            ],
        ),
        migrations.RunPython(_move_content_type, _return_content_type),
    ]
