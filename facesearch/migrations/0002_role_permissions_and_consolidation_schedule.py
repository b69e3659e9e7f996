"""Give analysts and admins the face-search permissions (``facecase.roles.FACE_SEARCH_PERMISSIONS``) and schedule the
hourly profile consolidation on the queue (``facesearch.tasks.profiles_consolidate_task``)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SCHEDULE_NAME = "facesearch: consolidate unknown-person profiles"


def forwards(apps, schema_editor):
    from facecase.roles import sync_role_groups

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_role_groups(apps, using=schema_editor.connection.alias)
    schedule = apps.get_model("django_q", "Schedule")
    schedule.objects.using(schema_editor.connection.alias).get_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": "facesearch.tasks.profiles_consolidate_task", "schedule_type": "H", "repeats": -1},
    )


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("facesearch", "0001_face_search_profiles"),
        ("facecase", "0002_role_groups"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
