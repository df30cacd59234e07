"""Fair assignment (issue 18, P7): assignment pools, support people's working hours and absences."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0005_profile_signature"),
        ("dictionaries", "0001_initial"),
        ("sla", "0008_report_load_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AgentWorkTime",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "timetable",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="sla.timetable",
                        verbose_name="timetable",
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="work_time",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="support person",
                    ),
                ),
            ],
            options={
                "verbose_name": "working hours of a support person",
                "verbose_name_plural": "working hours of support people",
            },
        ),
        migrations.CreateModel(
            name="AssignmentPool",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name_ru", models.CharField(blank=True, max_length=200, verbose_name="name (Russian)")),
                ("name_en", models.CharField(blank=True, max_length=200, verbose_name="name (English)")),
                (
                    "mode",
                    models.CharField(
                        choices=[("round_robin", "round-robin"), ("least_loaded", "least loaded")],
                        default="round_robin",
                        max_length=20,
                        verbose_name="mode",
                    ),
                ),
                ("active", models.BooleanField(default=True, verbose_name="active")),
                (
                    "sort",
                    models.PositiveIntegerField(
                        default=100,
                        help_text="The first active pool (lowest sort) that matches applies.",
                        verbose_name="sort",
                    ),
                ),
                (
                    "category",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: tickets of any category.",
                        limit_choices_to={"kind": "category"},
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="dictionaries.dictionaryentry",
                        verbose_name="category",
                    ),
                ),
                (
                    "last_assigned",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="last assigned",
                    ),
                ),
                (
                    "sla",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: tickets of any SLA.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="sla.slalevel",
                        verbose_name="SLA",
                    ),
                ),
                (
                    "support_group",
                    models.ForeignKey(
                        help_text="Its members take the tickets.",
                        limit_choices_to={"kind": "staff"},
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assignment_pools",
                        to="accounts.supportgroup",
                        verbose_name="support group",
                    ),
                ),
            ],
            options={
                "verbose_name": "assignment pool",
                "verbose_name_plural": "assignment pools",
                "ordering": ["sort", "id"],
            },
        ),
        migrations.CreateModel(
            name="AgentAbsence",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("starts_at", models.DateTimeField(verbose_name="from")),
                ("ends_at", models.DateTimeField(verbose_name="to")),
                (
                    "reason",
                    models.CharField(
                        choices=[("vacation", "vacation"), ("sick_leave", "sick leave"), ("other", "other")],
                        default="vacation",
                        max_length=20,
                        verbose_name="reason",
                    ),
                ),
                ("note", models.CharField(blank=True, max_length=200, verbose_name="note")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="absences",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="support person",
                    ),
                ),
            ],
            options={
                "verbose_name": "absence",
                "verbose_name_plural": "absences",
                "ordering": ["-starts_at", "id"],
                "indexes": [models.Index(fields=["user", "ends_at"], name="absence_user_ends")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                        name="absence_ends_after_start",
                    )
                ],
            },
        ),
    ]
