"""The mailbox rule's option to copy a mail's Cc addresses on its ticket (issue 18, P3)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0003_dictionaries_app"),
    ]

    operations = [
        migrations.AddField(
            model_name="mailbox",
            name="cc_from_mail",
            field=models.BooleanField(
                default=False,
                help_text="Except the support addresses and the ticket's author.",
                verbose_name="add the Cc addresses of incoming mail to the ticket's CC",
            ),
        ),
    ]
