"""The Celery app and its beat schedule.

The schedule lives here, in code, so that it is reviewed like the rest (django-celery-beat does not
install with Django 6.1). Times are read from the settings, themselves read from the environment.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_partenaires.settings")

app = Celery("espace_partenaires")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _daily(setting: str) -> crontab:
    from django.conf import settings

    hour, minute = getattr(settings, setting).split(":")
    return crontab(hour=int(hour), minute=int(minute))


@app.on_after_finalize.connect
def setup_beat_schedule(sender: Celery, **kwargs) -> None:
    sender.conf.beat_schedule = {
        "purge-expired-invitations": {
            "task": "accounts.tasks.purge_expired_invitations",
            "schedule": _daily("JOB_TIME_PURGE_INVITATIONS"),
        },
    }
