"""Indexes for the load report (reports.load, issue 16): the conversation's messages and the closings per
day, read from the index alone on PostgreSQL. Both are partial, so log lines and other history events (the
bulk of the writes) do not pay for them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0018_moduleoptions_coupon_mask"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("kind__in", ("public", "nostatus"))),
                fields=["created_at"],
                include=("ticket",),
                name="message_conversation_created",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(
                condition=models.Q(("field", "closed")),
                fields=["at"],
                include=("ticket", "new"),
                name="ticketevent_closed_at",
            ),
        ),
    ]
