"""Every worker cluster's scheduler (one at a time: django-q2 locks the schedule row) runs the stale-job sweep once a
minute: jobs whose worker stopped sending heartbeats are queued again, queued jobs a dead queue forgot are re-sent."""

from django.db import migrations

NAME = "footage-recover-stale-jobs"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "footage.tasks.recover_stale_jobs", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("footage", "0004_footage_job_lease"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
