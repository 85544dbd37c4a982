"""A worker killed in the middle of a job, and messages delivered more than once, lose no e-mail
and send none twice (SPEC §10, e-mails; docs/reliability.md).

Real parts: this test's own redis-server as Celery's broker; `celery worker` processes on the
test database, writing their e-mails to files, one of them killed with SIGKILL while the
password-expiry reminder marks a few thousand accounts.

Run with -s to see how many accounts were marked at the kill and how long the recovery took.
"""

import collections
import datetime
import time

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from espace_partenaires.celery import app as celery_app
from notifications.jobs import sweep_outbox
from notifications.models import SentEmail
from notifications.services import schedule_email
from tests.factories import StructureFactory, TechnicienFactory
from tests.helpers import REFERENT_WARNING, wait_for

from .conftest import sent_emails

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ACCOUNTS = 2000
REMINDER = "accounts/password_expiry"


def accounts_due_for_the_reminder(count: int) -> None:
    """`count` techniciens whose password expires in 5 days, not reminded yet."""
    structure = StructureFactory()
    changed_at = timezone.now() - datetime.timedelta(days=settings.PASSWORD_MAX_AGE_DAYS - 5)
    User.objects.bulk_create(
        [
            TechnicienFactory.build(
                structure=structure,
                identifiant=f"rappel.{n}",
                email=f"rappel.{n}@partenaire.example",
                password_changed_at=changed_at,
            )  # with a usable password, hashed by build()
            for n in range(count)
        ],
        batch_size=500,
    )


def marked() -> set[int]:
    return set(
        User.objects.filter(expiry_reminder_sent_for__isnull=False).values_list("pk", flat=True)
    )


def marked_count() -> int:
    return User.objects.filter(expiry_reminder_sent_for__isnull=False).count()


def reminder_rows() -> collections.Counter:
    """How many reminder rows each account has."""
    return collections.Counter(
        SentEmail.objects.filter(template=REMINDER).values_list("account_id", flat=True)
    )


def test_a_worker_killed_in_the_middle_of_the_reminders_loses_none_and_sends_none_twice(
    redis_broker, start_worker, mail_dir
):
    accounts_due_for_the_reminder(ACCOUNTS)
    emails = dict(User.objects.values_list("pk", "email"))
    # The rows this worker writes are due for the sweeper at once, not a minute later.
    worker = start_worker(EMAIL_SWEEP_DELAY_SECONDS="0")
    celery_app.send_task("accounts.tasks.remind_password_expiry")

    # Kill it past the first third, once a batch is committed and its e-mails are being
    # published: the worst moment, its marks and rows written, some of its messages not. (The
    # job keeps the worker busy: nothing is sent yet.)
    deadline = time.monotonic() + 120
    while True:
        done = marked_count()
        if done >= ACCOUNTS // 3 and redis_broker.queued() < done:
            break
        if done == ACCOUNTS or time.monotonic() > deadline:
            pytest.fail(f"the job ended before it could be killed ({done} marked)")
        time.sleep(0.002)
    worker.kill()

    marked_at_kill, rows_at_kill = marked(), reminder_rows()
    queued_at_kill = redis_broker.queued()
    assert 0 < len(marked_at_kill) < ACCOUNTS
    # The mark and the row are written together: no account marked without its row, no row
    # without its mark, one row each.
    assert set(rows_at_kill) == marked_at_kill
    assert set(rows_at_kill.values()) == {1}
    assert sent_emails(mail_dir) == []
    not_published = len(marked_at_kill) - queued_at_kill
    print(
        f"\nSIGKILL: {len(marked_at_kill)} of {ACCOUNTS} accounts marked, each with its row; "
        f"{queued_at_kill} messages in the broker, {not_published} rows that only the sweeper "
        f"will publish"
    )

    # A new worker, the job published again (the next day's run, or the broker's redelivery),
    # and the sweeper every few seconds until every row is sent. The new worker's own rows are
    # published as usual, and left by the sweeper for a minute (the default delay).
    recovery = time.monotonic()
    worker = start_worker(pool="prefork", concurrency=2)
    celery_app.send_task("accounts.tasks.remind_password_expiry")

    def all_sent() -> bool:
        sweep_outbox()
        return wait_for(
            lambda: (
                not SentEmail.objects.exclude(status=SentEmail.Status.SENT).exists()
                and SentEmail.objects.count() == ACCOUNTS
            ),
            timeout=5,
        )

    assert wait_for(all_sent, timeout=240), worker.log_tail()
    recovered = time.monotonic() - recovery
    print(f"recovery: {ACCOUNTS} reminders sent {recovered:.1f} s after the new worker started")
    assert wait_for(lambda: worker.idle(redis_broker), timeout=60)  # the sweeper's duplicates

    assert marked() == set(emails)
    assert set(reminder_rows().values()) == {1}
    assert set(SentEmail.objects.values_list("status", "attempts")) == {(SentEmail.Status.SENT, 1)}
    received = collections.Counter(message["To"] for message in sent_emails(mail_dir))
    assert received == collections.Counter(emails.values())  # each one e-mail, none twice


CONTEXT = REFERENT_WARNING


def test_messages_delivered_twice_and_the_sweeper_racing_a_late_worker_send_one_email_each(
    redis_broker, start_worker, mail_dir, settings
):
    settings.EMAIL_SWEEP_DELAY_SECONDS = 0  # the rows are due for the sweeper at once
    recipients = [f"referent{n}@cpam.example" for n in range(5)]
    rows = []
    for recipient in recipients:
        # Committed and published (on commit), then the broker delivers the message twice...
        rows.append(
            schedule_email(
                template="conventions/fin_proche_referent", recipient=recipient, context=CONTEXT
            )
        )
        celery_app.send_task("notifications.tasks.send_email", args=[rows[-1].pk])
    # ...and the worker is late: the sweeper publishes every row again.
    assert sweep_outbox().published == len(rows)
    assert redis_broker.queued() == 3 * len(rows)

    # Three worker processes take three messages at a time: a row's two first messages are
    # claimed at the same moment, its third once it is sent.
    worker = start_worker(pool="prefork", concurrency=3)
    assert wait_for(lambda: worker.idle(redis_broker)), worker.log_tail()

    received = collections.Counter(message["To"] for message in sent_emails(mail_dir))
    assert received == collections.Counter(recipients)  # one e-mail each
    assert set(SentEmail.objects.values_list("status", "attempts")) == {(SentEmail.Status.SENT, 1)}
    assert sweep_outbox().published == 0  # nothing is due any more
