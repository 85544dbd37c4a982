from django.db import migrations


class Migration(migrations.Migration):
    """Moments are named <participle>_at (docs/decisions.md, issue 14)."""

    dependencies = [("organismes", "0003_structure_history_by_and_kinds")]

    operations = [
        migrations.RenameField("structurepartenaire", "suspendue_le", "suspended_at"),
    ]
