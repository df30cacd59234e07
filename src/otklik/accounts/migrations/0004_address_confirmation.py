"""Keep the confirmed address itself instead of a flag, one account per confirmed address (F-12).

A profile flagged confirmed keeps its user's current address as the confirmed one; where several accounts
share it, none keeps it (staff mark the right one confirmed again).
"""

from django.db import migrations, models


def flags_to_addresses(apps, schema_editor):
    Profile = apps.get_model("accounts", "Profile")
    flagged = Profile.objects.filter(email_confirmed=True).exclude(user__email="")
    seen: dict[str, int] = {}
    duplicates: set[str] = set()
    for pk, email in flagged.values_list("pk", "user__email"):
        address = email.strip().lower()
        if address in seen:
            duplicates.add(address)
        seen[address] = pk
    for address, pk in seen.items():
        if address not in duplicates:
            Profile.objects.filter(pk=pk).update(confirmed_email=address)


def addresses_to_flags(apps, schema_editor):
    Profile = apps.get_model("accounts", "Profile")
    Profile.objects.exclude(confirmed_email="").update(email_confirmed=True)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_user_email_lookup_index")]

    operations = [
        migrations.AddField(
            model_name="profile",
            name="confirmed_email",
            field=models.CharField(blank=True, default="", max_length=254, verbose_name="confirmed e-mail"),
        ),
        migrations.RunPython(flags_to_addresses, addresses_to_flags),
        migrations.RemoveField(model_name="profile", name="email_confirmed"),
        migrations.AddConstraint(
            model_name="profile",
            constraint=models.UniqueConstraint(
                condition=models.Q(("confirmed_email", ""), _negated=True),
                fields=("confirmed_email",),
                name="profile_confirmed_email_unique",
            ),
        ),
    ]
