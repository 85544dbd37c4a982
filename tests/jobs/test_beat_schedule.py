"""The beat schedule (espace_partenaires/celery.py): each entry is a real task at a valid time."""

import re

from celery.schedules import crontab
from django.conf import settings

from espace_partenaires.celery import DAILY_JOBS, SWEEP_OUTBOX, app

TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def job_time_settings() -> dict[str, str]:
    return {name: getattr(settings, name) for name in dir(settings) if name.startswith("JOB_TIME_")}


def test_every_scheduled_task_is_a_registered_task():
    app.loader.import_default_modules()  # what a worker does: autodiscovers the tasks modules
    schedule = app.conf.beat_schedule

    assert set(schedule) == {*DAILY_JOBS, "sweep-outbox"}
    for entry in schedule.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_every_job_time_parses_and_is_used_once():
    times = job_time_settings()

    assert times, "no JOB_TIME_* setting"
    for name, value in times.items():
        assert TIME.match(value), f"{name}={value!r} is not HH:MM"
    assert sorted(setting for _task, setting in DAILY_JOBS.values()) == sorted(times)


def test_each_entry_runs_daily_at_its_setting_time():
    schedule = app.conf.beat_schedule
    for entry, (task, setting) in DAILY_JOBS.items():
        hour, minute = (int(part) for part in getattr(settings, setting).split(":"))
        assert schedule[entry]["task"] == task
        assert schedule[entry]["schedule"] == crontab(hour=hour, minute=minute)


def test_the_outbox_is_swept_every_minute():
    assert app.conf.beat_schedule["sweep-outbox"] == SWEEP_OUTBOX
    assert SWEEP_OUTBOX == {"task": "notifications.tasks.sweep_outbox", "schedule": 60.0}


def test_the_fourteen_daily_jobs_and_the_sweeper_are_scheduled():
    assert {entry["task"] for entry in app.conf.beat_schedule.values()} == {
        "notifications.tasks.sweep_outbox",
        "accounts.tasks.end_conventions",
        "accounts.tasks.purge_inactive_accounts",
        "accounts.tasks.remind_password_expiry",
        "accounts.tasks.warn_convention_ends",
        "accounts.tasks.purge_expired_invitations",
        "notifications.tasks.purge_sent_email_log",
        "inscriptions.tasks.purge_inscriptions",
        "accounts.tasks.purge_expired_sessions",
        "accounts.tasks.request_habilitation_reviews",
        "accounts.tasks.warn_dormant_accounts",
        "accounts.tasks.inactivate_dormant_accounts",
        "audit.tasks.purge_access_log",
        "demandes.tasks.anonymise_closed_demandes",
        "demandes.tasks.send_daily_digests",
    }
