"""The Moderators group, created by `migrate` itself so a fresh install has a working moderator role.

Permissions are normally created by a post_migrate signal, after every migration has run, so the ones
the group needs are created here explicitly (post_migrate then finds them and leaves them alone).
"""
from django.db import migrations

GROUP = "Moderators"
# (app_label, model, codename, name): mirrors accounts.services.MODERATOR_PERMISSIONS.
PERMISSIONS = [
    ("marketplace", "app", "view_app", "Can view app"),
    ("marketplace", "app", "review_app", "Can approve, reject and suspend apps"),
    ("marketplace", "appreviewqueue", "view_appreviewqueue", "Can view app awaiting review"),
    ("marketplace", "appversion", "view_appversion", "Can view app version"),
    ("marketplace", "review", "view_review", "Can view review"),
    ("marketplace", "review", "delete_review", "Can delete review"),
    ("marketplace", "category", "view_category", "Can view category"),
    ("accounts", "auditlog", "view_auditlog", "Can view audit log entry"),
    ("accounts", "user", "view_user", "Can view user"),
]


def create_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, model, codename, name in PERMISSIONS:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        group.permissions.add(permission)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("marketplace", "0003_review_queue"),
    ]
    operations = [migrations.RunPython(create_group, remove_group)]
