"""The history's search (DemandeFilterForm: a name or a reference, anywhere in it) served by an
index on PostgreSQL: trigrams (pg_trgm, a trusted extension that the database's owner may
create) on the same expressions as Django's `icontains`, UPPER(column). SQLite, used by the
tests, has no such index; the search works the same there, by scanning.
"""

from django.db import migrations

INDEX = "demande_recherche_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON demandes_demande USING gin "
        "(UPPER(nom::text) gin_trgm_ops, UPPER(prenom::text) gin_trgm_ops, "
        "UPPER(reference::text) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("demandes", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
