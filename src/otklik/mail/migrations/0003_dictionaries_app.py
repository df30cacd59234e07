"""Point the mailboxes' default category and criticality at the dictionary entries' new app (state only)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dictionaries", "0001_initial"),
        ("mail", "0002_mail_principal"),
    ]

    operations = [
        # State only: the table, its rows and the foreign keys in the database stay as they are.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="mailbox",
                    name="category",
                    field=models.ForeignKey(
                        blank=True,
                        limit_choices_to={"kind": "category"},
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="default category",
                    ),
                ),
                migrations.AlterField(
                    model_name="mailbox",
                    name="criticality",
                    field=models.ForeignKey(
                        blank=True,
                        limit_choices_to={"kind": "criticality"},
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="default criticality",
                    ),
                ),
            ],
        ),
    ]
