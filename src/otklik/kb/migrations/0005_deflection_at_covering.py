"""The answers' index by instant carries what the deflection report reads (reports.deflection, issue 16):
the kind, the user (for the "ticket within two hours" rule) and the section or article. PostgreSQL then
counts a period's answers from the index alone instead of fetching rows scattered over the table.

It replaces the plain index `db_index=True` made for `at` (dropped by its name, which Django derives alike
on every database), so a recorded answer writes as many index entries as before. SQLite ignores INCLUDE
and gets a plain index again.
"""

from django.db import migrations, models

# The name Django gave `at`'s own index (db_index=True) on every database.
AT_INDEX = "kb_deflection_at_fc7950fd"


class Migration(migrations.Migration):
    dependencies = [
        ("kb", "0004_deflection_names"),
    ]

    operations = [
        # The field loses its own index without SQLite rebuilding the table (an AlterField would).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="deflection",
                    name="at",
                    field=models.DateTimeField(verbose_name="when"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {AT_INDEX}",
                    reverse_sql=f"CREATE INDEX {AT_INDEX} ON kb_deflection (at)",
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="deflection",
            index=models.Index(
                fields=["at"], include=("kind", "user", "section", "article"), name="deflection_at"
            ),
        ),
    ]
