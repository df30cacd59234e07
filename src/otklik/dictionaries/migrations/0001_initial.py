"""Take over the dictionary entries from the tickets app: the model moves, its table stays.

Created in the migration state only; the table was made by tickets' 0001 (on a fresh database it runs first,
see the dependency), its rows are kept as they are. tickets' 0015 then drops the model from its own state.
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("tickets", "0014_audit_trail"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # State only: the table, its rows and the foreign keys in the database stay as they are.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DictionaryEntry",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("category", "categories"),
                                    ("criticality", "criticality"),
                                    ("status", "statuses"),
                                    ("mark", "answer marks"),
                                    ("answer", "frequent answers"),
                                    ("source", "sources"),
                                    ("difficulty", "difficulty"),
                                ],
                                db_index=True,
                                max_length=20,
                                verbose_name="dictionary",
                            ),
                        ),
                        ("name_ru", models.CharField(max_length=255, verbose_name="name (Russian)")),
                        ("name_en", models.CharField(max_length=255, verbose_name="name (English)")),
                        (
                            "description_ru",
                            models.TextField(blank=True, verbose_name="description (Russian)"),
                        ),
                        (
                            "description_en",
                            models.TextField(blank=True, verbose_name="description (English)"),
                        ),
                        ("sort", models.IntegerField(default=100, verbose_name="sort")),
                        (
                            "code",
                            models.CharField(
                                blank=True,
                                help_text="Latin letters, digits and underscore; unique within the dictionary.",
                                max_length=64,
                                validators=[
                                    django.core.validators.RegexValidator(
                                        "^[A-Za-z0-9_]*$", "Use only Latin letters, digits and underscore."
                                    )
                                ],
                                verbose_name="symbolic code",
                            ),
                        ),
                        ("is_default", models.BooleanField(default=False, verbose_name="default")),
                        ("active", models.BooleanField(default=True, verbose_name="active")),
                        (
                            "responsible",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="responsible",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "dictionary entry",
                        "verbose_name_plural": "dictionaries",
                        "db_table": "tickets_dictionaryentry",
                        "ordering": ["kind", "sort", "id"],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("code", ""), _negated=True),
                                fields=("kind", "code"),
                                name="dictionary_code_unique_per_kind",
                            ),
                            models.UniqueConstraint(
                                condition=models.Q(("is_default", True)),
                                fields=("kind",),
                                name="dictionary_one_default_per_kind",
                            ),
                        ],
                    },
                ),
            ],
        ),
    ]
