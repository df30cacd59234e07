from django.db import migrations

NAMES = {
    "client": "Support clients",
    "staff": "Support staff",
    "demo": "Support demo",
    "admin": "Support administrators",
}


def create_access_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    GroupAccess = apps.get_model("accounts", "GroupAccess")
    for level, name in NAMES.items():
        group, _ = Group.objects.get_or_create(name=name)
        GroupAccess.objects.get_or_create(group=group, defaults={"level": level})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_access_groups, migrations.RunPython.noop)]
