"""What every job shares: a management command whose --dry-run changes nothing, idempotence."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from accounts.jobs import (
    end_conventions,
    inactivate_dormant_accounts,
    purge_expired_invitations,
    purge_expired_sessions,
    purge_inactive_accounts,
    remind_password_expiry,
    request_habilitation_reviews,
    warn_convention_ends,
    warn_dormant_accounts,
)
from audit.jobs import purge_access_log
from demandes.jobs import anonymise_closed_demandes, send_daily_digests
from espace_partenaires.celery import DAILY_JOBS
from inscriptions.jobs import purge_inscriptions
from notifications.jobs import purge_sent_email_log

from . import scenario
from .conftest import snapshot

pytestmark = pytest.mark.django_db

JOBS = {
    "end_conventions": (end_conventions, "accounts_inactivated : 2"),
    "warn_convention_ends": (warn_convention_ends, "emails_gestionnaires : 1"),
    "purge_inactive_accounts": (purge_inactive_accounts, "accounts_deleted : 1"),
    "remind_password_expiry": (remind_password_expiry, "reminders : 1"),
    "purge_sent_email_log": (purge_sent_email_log, "deleted : 1"),
    "purge_inscriptions": (purge_inscriptions, "preinscriptions_decided : 1"),
    "purge_expired_sessions": (purge_expired_sessions, "deleted : 1"),
    "purge_expired_invitations": (purge_expired_invitations, "deleted : 1"),
    "request_habilitation_reviews": (request_habilitation_reviews, "emails : 1"),
    "warn_dormant_accounts": (warn_dormant_accounts, "warned : 1"),
    "inactivate_dormant_accounts": (inactivate_dormant_accounts, "inactivated : 1"),
    "purge_access_log": (purge_access_log, "deleted : 1"),
    "anonymise_closed_demandes": (anonymise_closed_demandes, "demandes_anonymised : 1"),
    "send_daily_digests": (send_daily_digests, "digests : 1"),
}


def test_every_scheduled_job_is_here_with_its_command():
    """A job added to the beat schedule gets the tests below: its command, its dry run, its
    second run; each command is named after its task."""
    assert {task.rsplit(".", 1)[1] for task, _setting in DAILY_JOBS.values()} == set(JOBS)


@pytest.fixture
def world(now, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 365
    settings.PASSWORD_EXPIRY_REMINDER_DAYS = 15
    settings.EMAIL_LOG_RETENTION_MONTHS = 12
    settings.INSCRIPTION_RETENTION_MONTHS = 12
    settings.ACCESS_LOG_RETENTION_MONTHS = 12
    return scenario.build(now)


@pytest.mark.parametrize("command", JOBS)
def test_the_dry_run_shows_what_the_job_would_do_and_changes_nothing(world, command, on_commit):
    before = snapshot()
    out = StringIO()

    with on_commit():
        call_command(command, "--dry-run", stdout=out)

    assert "Simulation (--dry-run) : rien n'a été modifié ni envoyé." in out.getvalue()
    assert JOBS[command][1] in out.getvalue()
    assert snapshot() == before
    assert mail.outbox == []


@pytest.mark.parametrize("command", JOBS)
def test_the_command_does_the_job(world, command, on_commit):
    before = snapshot()
    out = StringIO()

    with on_commit():
        call_command(command, stdout=out)

    assert "Simulation" not in out.getvalue()
    assert JOBS[command][1] in out.getvalue()
    assert snapshot() != before


@pytest.mark.parametrize("name", JOBS)
def test_each_job_run_twice_leaves_the_same_state(world, name, on_commit):
    job = JOBS[name][0]
    with on_commit():
        job()
    after_once = snapshot()
    sent = len(mail.outbox)

    with on_commit():
        second = job()

    assert snapshot() == after_once
    assert len(mail.outbox) == sent
    assert all(value == 0 for key, value in second.as_dict().items() if key != "dry_run")


def test_all_jobs_in_their_daily_order_then_again(world, on_commit):
    order = (
        end_conventions,
        purge_inactive_accounts,
        anonymise_closed_demandes,
        purge_expired_invitations,
        purge_sent_email_log,
        purge_access_log,
        purge_inscriptions,
        purge_expired_sessions,
        inactivate_dormant_accounts,
        request_habilitation_reviews,
        warn_convention_ends,
        warn_dormant_accounts,
        remind_password_expiry,
        send_daily_digests,
    )
    with on_commit():
        for job in order:
            job()
    state = snapshot()
    with on_commit():
        for job in order:
            job()
    assert snapshot() == state
