"""Make the audit table append-only in the database too, not only in the ORM and the admin.

UPDATE is refused on every backend. DELETE is refused on PostgreSQL; on SQLite it is left to the ORM guard,
because Django's ``flush`` (used between transactional tests) empties SQLite tables with DELETE, while on
PostgreSQL it uses TRUNCATE, which row triggers do not see.
"""

from django.db import migrations

PG_CREATE = [
    """CREATE OR REPLACE FUNCTION facecase_audit_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'facecase_auditevent is append-only (% refused)', TG_OP;
    END;
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER facecase_auditevent_no_update BEFORE UPDATE ON facecase_auditevent
    FOR EACH ROW EXECUTE FUNCTION facecase_audit_append_only()""",
    """CREATE TRIGGER facecase_auditevent_no_delete BEFORE DELETE ON facecase_auditevent
    FOR EACH ROW EXECUTE FUNCTION facecase_audit_append_only()""",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS facecase_auditevent_no_update ON facecase_auditevent",
    "DROP TRIGGER IF EXISTS facecase_auditevent_no_delete ON facecase_auditevent",
    "DROP FUNCTION IF EXISTS facecase_audit_append_only()",
]
SQLITE_CREATE = [
    """CREATE TRIGGER facecase_auditevent_no_update BEFORE UPDATE ON facecase_auditevent
    BEGIN SELECT RAISE(ABORT, 'facecase_auditevent is append-only (UPDATE refused)'); END""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS facecase_auditevent_no_update"]


def _run(schema_editor, by_vendor):
    for statement in by_vendor.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def create(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE})


def drop(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_DROP, "sqlite": SQLITE_DROP})


class Migration(migrations.Migration):
    dependencies = [("facecase", "0002_role_groups")]

    operations = [migrations.RunPython(create, drop)]
