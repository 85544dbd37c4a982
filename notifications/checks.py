from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def anymail_webhook_secret(app_configs, **kwargs):
    """Without its secret, anymail's tracking webhook would take bounces from anyone."""
    if settings.MAILER == "anymail" and not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        return [
            checks.Warning(
                "ANYMAIL_WEBHOOK_SECRET is empty: the bounce webhook accepts any caller.",
                hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and give it to the provider.",
                id="notifications.W001",
            )
        ]
    return []
