"""Point the SLA levels' allowed entries at the dictionary entries' new app (state only, the tables stay)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dictionaries", "0001_initial"),
        ("sla", "0005_recompute_progress"),
    ]

    operations = [
        # State only: the table, its rows and the foreign keys in the database stay as they are.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="slalevel",
                    name="categories",
                    field=models.ManyToManyField(
                        blank=True,
                        help_text="None chosen: all.",
                        limit_choices_to={"kind": "category"},
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="allowed categories",
                    ),
                ),
                migrations.AlterField(
                    model_name="slalevel",
                    name="criticalities",
                    field=models.ManyToManyField(
                        blank=True,
                        help_text="None chosen: all.",
                        limit_choices_to={"kind": "criticality"},
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="allowed criticalities",
                    ),
                ),
                migrations.AlterField(
                    model_name="slalevel",
                    name="marks",
                    field=models.ManyToManyField(
                        blank=True,
                        help_text="None chosen: all.",
                        limit_choices_to={"kind": "mark"},
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="allowed marks",
                    ),
                ),
            ],
        ),
    ]
