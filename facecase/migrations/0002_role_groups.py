"""Create the admin/operator/analyst groups with their permissions.

Permissions are normally created after all migrations (post_migrate); create them here first so the groups
can be filled on a fresh database. The permission table is read from ``facecase.roles`` so there is one list.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_role_groups(apps, schema_editor):
    from facecase.roles import sync_role_groups

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_role_groups(apps, using=schema_editor.connection.alias)


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["admin", "operator", "analyst"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("facecase", "0001_initial"),
        ("suspects", "0001_initial"),
        ("footage", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
