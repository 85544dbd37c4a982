"""The Celery app and its beat schedule.

The schedule lives here, in code, so that it is reviewed like the rest (django-celery-beat does not
install with Django 6.1). Times are read from the settings, themselves read from the environment.
"""

import logging.config
import os

from celery import Celery, signals
from celery.schedules import crontab

from core import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_partenaires.settings")

app = Celery("espace_partenaires")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def use_the_portals_logging(**kwargs) -> None:
    """The worker and beat log as the web does (settings.LOGGING: LOG_FORMAT, LOG_LEVEL, the
    request id, the redaction filter), not with Celery's own format. Celery then neither takes
    over the root logger nor turns what is printed (the local mailer's copy of each e-mail) into
    log lines; `--loglevel` gives way to LOG_LEVEL."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


# A task scheduled during a request carries the request's id (and its user's) in its message;
# its lines carry them too (core/logs.py).
signals.before_task_publish.connect(logs.on_before_task_publish, weak=False)
signals.task_prerun.connect(logs.on_task_prerun, weak=False)
signals.task_postrun.connect(logs.on_task_postrun, weak=False)


def _daily(setting: str) -> crontab:
    from django.conf import settings

    hour, minute = getattr(settings, setting).split(":")
    return crontab(hour=int(hour), minute=int(minute))


# One entry per scheduled job (SPEC §6): task name and the setting that gives its daily time.
DAILY_JOBS = {
    "end-conventions": ("accounts.tasks.end_conventions", "JOB_TIME_CONVENTION_END"),
    "warn-convention-ends": (
        "accounts.tasks.warn_convention_ends",
        "JOB_TIME_CONVENTION_WARNING",
    ),
    "purge-inactive-accounts": (
        "accounts.tasks.purge_inactive_accounts",
        "JOB_TIME_PURGE_ACCOUNTS",
    ),
    "remind-password-expiry": (
        "accounts.tasks.remind_password_expiry",
        "JOB_TIME_PASSWORD_REMINDER",
    ),
    "purge-expired-invitations": (
        "accounts.tasks.purge_expired_invitations",
        "JOB_TIME_PURGE_INVITATIONS",
    ),
    "purge-sent-email-log": (
        "notifications.tasks.purge_sent_email_log",
        "JOB_TIME_PURGE_EMAIL_LOG",
    ),
    "purge-inscriptions": (
        "inscriptions.tasks.purge_inscriptions",
        "JOB_TIME_PURGE_INSCRIPTIONS",
    ),
    "purge-expired-sessions": (
        "accounts.tasks.purge_expired_sessions",
        "JOB_TIME_PURGE_SESSIONS",
    ),
    "request-habilitation-reviews": (
        "accounts.tasks.request_habilitation_reviews",
        "JOB_TIME_HABILITATION_REVIEWS",
    ),
    "warn-dormant-accounts": (
        "accounts.tasks.warn_dormant_accounts",
        "JOB_TIME_DORMANT_WARNING",
    ),
    "inactivate-dormant-accounts": (
        "accounts.tasks.inactivate_dormant_accounts",
        "JOB_TIME_DORMANT_INACTIVATION",
    ),
    "purge-access-log": ("audit.tasks.purge_access_log", "JOB_TIME_PURGE_ACCESS_LOG"),
    "anonymise-closed-demandes": (
        "demandes.tasks.anonymise_closed_demandes",
        "JOB_TIME_ANONYMISE_DEMANDES",
    ),
    "send-daily-digests": ("demandes.tasks.send_daily_digests", "JOB_TIME_DIGEST"),
}


# The outbox's sweeper (docs/reliability.md): every minute, the e-mails whose publish was lost or
# whose back-off is over.
SWEEP_OUTBOX = {"task": "notifications.tasks.sweep_outbox", "schedule": 60.0}


@app.on_after_finalize.connect
def setup_beat_schedule(sender: Celery, **kwargs) -> None:
    sender.conf.beat_schedule = {
        "sweep-outbox": SWEEP_OUTBOX,
        **{
            entry: {"task": task, "schedule": _daily(setting)}
            for entry, (task, setting) in DAILY_JOBS.items()
        },
    }
