from celery import current_app
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


# The outbox's sweeper (docs/reliability.md): without it, an e-mail whose publish was lost (broker
# down at commit) or whose retry is due is never sent.
SWEEPER_TASK = "notifications.tasks.sweep_outbox"


@checks.register(deploy=True)
def sweeper_scheduled(app_configs, **kwargs):
    """The Celery beat schedule runs the outbox's sweeper."""
    # current_app is the project's app (Celery's Django fix-up makes it the default), which this
    # layer may not import from espace_partenaires; it sets its beat schedule once finalized.
    current_app.finalize()
    schedule = current_app.conf.beat_schedule or {}
    if any(entry.get("task") == SWEEPER_TASK for entry in schedule.values()):
        return []
    return [
        checks.Warning(
            f"The Celery beat schedule has no entry for {SWEEPER_TASK}: pending e-mails whose "
            "publish was lost are never sent.",
            hint="Schedule it every minute in espace_partenaires/celery.py (beat_schedule).",
            id="notifications.W002",
        )
    ]
