"""SPEC §10, e-mails: an e-mail is a row from the transaction that causes it, sent at least once
and at most once per row. The row holds what the send needs; each send claims it; the sweeper
re-drives what is due; failures back off, then fail, and an agent resends them."""

import datetime

import pytest
import time_machine
from anymail.exceptions import AnymailAPIError
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Invitation
from espace_partenaires.celery import app as celery_app
from notifications import jobs
from notifications.models import SentEmail
from notifications.services import claim, resend, schedule_email
from notifications.tasks import send_email
from tests.factories import AgentFactory, ConventionFactory, GestionnaireFactory
from tests.helpers import REFERENT_WARNING

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
CONTEXT = REFERENT_WARNING


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def settings_outbox(settings):
    settings.EMAIL_SWEEP_DELAY_SECONDS = 60
    settings.EMAIL_RETRY_BACKOFF_SECONDS = 60
    settings.EMAIL_MAX_ATTEMPTS = 3
    settings.EMAIL_SEND_LEASE_SECONDS = 300
    return settings


@pytest.fixture
def not_published():
    """Rows are written, their publish is lost (as with the broker down): only the sweeper or a
    direct call sends them."""
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "memory://"
    yield
    celery_app.control.purge()  # what was published here is nobody's to consume
    celery_app.conf.task_always_eager = True


def a_row(**fields) -> SentEmail:
    return schedule_email(
        template="conventions/fin_proche_referent",
        recipient="referent@cpam.example",
        context=CONTEXT,
        **fields,
    )


class Provider:
    """The provider's answers, attempt after attempt: an error, or None for accepted."""

    def __init__(self, monkeypatch, *answers):
        self.answers = list(answers)
        self.calls = 0
        original = EmailMultiAlternatives.send

        def send(message, *args, **kwargs):
            self.calls += 1
            answer = self.answers.pop(0) if self.answers else None
            if answer is not None:
                raise answer
            return original(message, *args, **kwargs)

        monkeypatch.setattr(EmailMultiAlternatives, "send", send)


def test_the_row_holds_all_the_send_needs_and_keeps_no_context_once_sent(
    clock, settings_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sent = a_row()
    sent.refresh_from_db()
    assert (sent.status, sent.task, sent.context) == (
        SentEmail.Status.PENDING,
        "notifications.tasks.send_email",
        CONTEXT,
    )
    assert sent.next_attempt_at == START + datetime.timedelta(seconds=60)

    for callback in callbacks:  # the commit: published, and sent by the (eager) worker
        callback()

    sent.refresh_from_db()
    [email] = mail.outbox
    assert email.to == ["referent@cpam.example"]
    assert "CCAS DE CREIL" in email.body
    assert (sent.status, sent.attempts, sent.context, sent.next_attempt_at) == (
        SentEmail.Status.SENT,
        1,
        {},
        None,
    )


def test_of_two_claims_at_once_one_wins_and_a_lapsed_claim_is_taken_again(
    clock, settings_outbox, not_published
):
    sent = a_row()

    assert claim(sent.pk) is not None
    assert claim(sent.pk) is None  # the other worker, the sweeper's message, a redelivery

    clock.shift(datetime.timedelta(seconds=301))  # the first worker died while sending
    retaken = claim(sent.pk)
    assert retaken is not None
    assert retaken.attempts == 2


def test_a_message_delivered_twice_sends_one_email(settings_outbox, not_published):
    sent = a_row()

    send_email(sent.pk)
    send_email(sent.pk)

    assert len(mail.outbox) == 1
    sent.refresh_from_db()
    assert (sent.status, sent.attempts) == (SentEmail.Status.SENT, 1)


def test_the_sweeper_publishes_what_is_due_and_nothing_else(clock, settings_outbox, not_published):
    fresh, lost = a_row(), a_row()
    SentEmail.objects.filter(pk=lost.pk).update(
        next_attempt_at=START - datetime.timedelta(seconds=1)
    )
    done = a_row()
    send_email(done.pk)

    report = jobs.sweep_outbox(dry_run=True)
    assert report.published == 1
    celery_app.conf.task_always_eager = True
    report = jobs.sweep_outbox()
    published = [email.to for email in mail.outbox]

    assert report.published == 1
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == SentEmail.Status.SENT
    assert fresh.status == SentEmail.Status.PENDING  # its own publish still has a minute
    assert len(published) == 2  # `done`, then `lost`


def test_provider_errors_back_off_then_fail_then_an_agent_resends(
    clock, settings_outbox, monkeypatch, django_capture_on_commit_callbacks
):
    provider = Provider(
        monkeypatch,
        AnymailAPIError("503 from the provider"),
        AnymailAPIError("503 from the provider"),
        AnymailAPIError("503 from the provider"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        sent = a_row()  # committed, published: the first attempt fails
    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.error) == (
        SentEmail.Status.PENDING,
        1,
        "AnymailAPIError",
    )
    assert sent.next_attempt_at == START + datetime.timedelta(seconds=60)

    assert jobs.sweep_outbox().published == 0  # backing off
    clock.shift(datetime.timedelta(seconds=60))
    assert jobs.sweep_outbox().published == 1  # attempt 2 fails: two minutes now
    sent.refresh_from_db()
    assert sent.next_attempt_at == START + datetime.timedelta(seconds=60 + 120)
    clock.shift(datetime.timedelta(seconds=120))
    assert jobs.sweep_outbox().published == 1  # attempt 3, the last, fails
    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.next_attempt_at) == (SentEmail.Status.FAILED, 3, None)
    assert sent.context == CONTEXT  # kept for the resend
    clock.shift(datetime.timedelta(hours=2))
    assert jobs.sweep_outbox().published == 0
    assert provider.calls == 3 and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        assert resend(sent) is True  # the provider is back; the agent resends from the admin
    sent.refresh_from_db()
    assert (sent.status, sent.attempts) == (SentEmail.Status.SENT, 1)
    [email] = mail.outbox
    assert email.to == ["referent@cpam.example"]
    assert resend(sent) is False  # a sent e-mail is not resent


def test_a_template_error_fails_the_row_at_once(settings_outbox, not_published):
    sent = a_row(task="notifications.tasks.send_email")
    SentEmail.objects.filter(pk=sent.pk).update(template="does/not-exist")

    with pytest.raises(Exception, match="does/not-exist"):
        send_email(sent.pk)

    sent.refresh_from_db()
    assert (sent.status, sent.error) == (SentEmail.Status.FAILED, "TemplateDoesNotExist")


def test_an_invitation_superseded_before_it_went_is_cancelled_not_sent(
    settings_outbox, not_published, settings
):
    settings.SITE_URL = "http://127.0.0.1:8000"
    convention = ConventionFactory()
    agent = AgentFactory(organisme=convention.organisme)
    gestionnaire = GestionnaireFactory(structure=convention.structure, password=None)
    account_services.invite(gestionnaire, by=agent)
    first = SentEmail.objects.get(account=gestionnaire)
    account_services.invite(gestionnaire, by=agent)  # a newer link revokes the first

    from accounts.tasks import send_invitation

    send_invitation(first.pk)

    first.refresh_from_db()
    assert first.status == SentEmail.Status.CANCELLED
    assert mail.outbox == []
    assert Invitation.objects.filter(account=gestionnaire).count() == 2


@pytest.mark.parametrize("due", [3, 300])
def test_the_sweeper_makes_one_query_however_many_rows_are_due(
    clock, settings_outbox, not_published, due
):
    SentEmail.objects.bulk_create(
        SentEmail(
            template="conventions/fin_proche_referent",
            recipient=f"r{n}@cpam.example",
            context=CONTEXT,
            next_attempt_at=timezone.now() - datetime.timedelta(minutes=5),
        )
        for n in range(due)
    )
    with CaptureQueriesContext(connection) as queries:
        report = jobs.sweep_outbox()

    assert report.published == due
    assert len(queries.captured_queries) == 1


def test_a_worker_never_gives_up_on_the_broker():
    """Celery's default stops a worker after 100 reconnection tries (about 46 minutes of an
    outage): the outbox would then wait for someone to restart it."""
    assert celery_app.conf.broker_connection_max_retries is None
    assert celery_app.conf.broker_connection_retry_on_startup is True
