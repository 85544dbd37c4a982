from django.db import migrations


class Migration(migrations.Migration):
    """Moments are named <participle>_at, a job's mark <what>_sent_for (docs/decisions.md,
    issue 14)."""

    dependencies = [("conventions", "0004_convention_alerte_fin_envoyee_pour_and_more")]

    operations = [
        migrations.RenameField("convention", "fin_traitee_le", "end_processed_at"),
        migrations.RenameField("convention", "alerte_fin_envoyee_pour", "end_warning_sent_for"),
    ]
