"""Make the mail gateway account a system principal: no group, no access level, no login.

Before, the gateway was an inactive member of an admin-level group. Its rights now come from
`TicketPolicy`, which recognises the principal and grants it only what mail needs; the old group
(and its admin level) goes, and the account keeps nothing a sign-in could use.
"""

from django.contrib.auth.hashers import make_password
from django.db import migrations

USERNAME = "otklik-mail-gateway"
OLD_GROUP = "Otklik mail gateway"


def to_principal(apps, schema_editor):
    User = apps.get_model("auth", "User")
    Group = apps.get_model("auth", "Group")
    GroupAccess = apps.get_model("accounts", "GroupAccess")
    for user in User.objects.filter(username=USERNAME):
        user.groups.clear()
        user.user_permissions.clear()
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.password = make_password(None)  # unusable
        user.save(update_fields=["is_active", "is_staff", "is_superuser", "password"])
    for group in Group.objects.filter(name=OLD_GROUP):
        if not group.user_set.exists():  # an admin may have reused the group for people: keep it then
            GroupAccess.objects.filter(group=group).delete()
            group.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0001_initial"),
        ("accounts", "0003_user_email_lookup_index"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(to_principal, migrations.RunPython.noop)]
