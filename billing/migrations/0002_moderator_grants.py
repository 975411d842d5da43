"""Moderators grant credits in the admin: give the Moderators group the grant permissions."""
from django.db import migrations

GROUP = "Moderators"
PERMISSIONS = [
    ("billing", "creditgrant", "add_creditgrant", "Can add credit grant"),
    ("billing", "creditgrant", "view_creditgrant", "Can view credit grant"),
]


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, model, codename, name in PERMISSIONS:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        permission, _ = Permission.objects.get_or_create(content_type=content_type, codename=codename,
                                                         defaults={"name": name})
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("accounts", "0002_moderators_group"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
