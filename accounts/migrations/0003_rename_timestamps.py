from django.db import migrations


class Migration(migrations.Migration):
    """Moments are named <participle>_at, a job's mark <what>_sent_for (docs/decisions.md,
    issue 14)."""

    dependencies = [("accounts", "0002_user_email_invalide_le_user_email_invalide_motif_and_more")]

    operations = [
        migrations.RenameField("user", "email_invalide_le", "email_invalid_at"),
        migrations.RenameField("user", "rappel_expiration_envoye_pour", "expiry_reminder_sent_for"),
    ]
