"""Two runs of a job at once (beat firing while an operator runs the command) do the work once.

Real transactions and one database connection per thread (SQLite here, PostgreSQL in CI, where
the batches are locked with SELECT … FOR UPDATE SKIP LOCKED).
"""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from accounts.jobs import (
    end_conventions,
    purge_inactive_accounts,
    remind_password_expiry,
    warn_convention_ends,
)
from accounts.models import AccountEvent, User
from notifications.models import SentEmail
from organismes.models import StructureEvent
from tests.factories import (
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    TechnicienFactory,
)
from tests.helpers import all_succeed

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4


def run_all_at_once(job) -> list:
    return all_succeed(*([job] * THREADS))


@pytest.fixture
def world(settings):
    settings.PASSWORD_MAX_AGE_DAYS = 365
    settings.PASSWORD_EXPIRY_REMINDER_DAYS = 15
    today = timezone.localdate()
    organisme = OrganismeFactory()
    for _ in range(3):
        ended = ConventionFactory(
            organisme=organisme,
            date_debut=today - datetime.timedelta(days=400),
            date_fin=today - datetime.timedelta(days=1),
        )
        GestionnaireFactory(structure=ended.structure)
        TechnicienFactory(structure=ended.structure)
        ending = ConventionFactory(
            organisme=organisme,
            date_debut=today - datetime.timedelta(days=300),
            date_fin=today + datetime.timedelta(days=10),
        )
        GestionnaireFactory(
            structure=ending.structure,
            password_changed_at=timezone.now() - datetime.timedelta(days=360),
        )
        TechnicienFactory(
            structure=StructureFactory(),
            is_active=False,
            inactivated_at=timezone.now() - datetime.timedelta(days=400),
        )


def test_convention_end(world):
    reports = run_all_at_once(end_conventions)

    assert sum(report.accounts_inactivated for report in reports) == 6
    assert sum(report.conventions for report in reports) == 3
    inactivated = AccountEvent.objects.filter(kind=AccountEvent.Kind.INACTIVATED)
    assert inactivated.count() == 6
    assert inactivated.values("account").distinct().count() == 6
    assert StructureEvent.objects.filter(kind=StructureEvent.Kind.CONVENTION_ENDED).count() == 3


def test_warning(world):
    reports = run_all_at_once(warn_convention_ends)

    assert sum(report.conventions for report in reports) == 3
    assert SentEmail.objects.filter(template="conventions/fin_proche").count() == 3
    assert SentEmail.objects.filter(template="conventions/fin_proche_referent").count() == 3
    assert len(mail.outbox) == 6


def test_purge(world):
    reports = run_all_at_once(purge_inactive_accounts)

    assert sum(report.accounts_deleted for report in reports) == 3
    assert not User.objects.filter(is_active=False).exists()
    assert StructureEvent.objects.filter(kind=StructureEvent.Kind.ACCOUNTS_PURGED).count() == 3


def test_password_reminder(world):
    reports = run_all_at_once(remind_password_expiry)

    assert sum(report.reminders for report in reports) == 3
    assert SentEmail.objects.filter(template="accounts/password_expiry").count() == 3
    assert len(mail.outbox) == 3


@pytest.mark.postgresql
def test_a_row_another_run_finished_after_this_one_locked_it_is_not_processed_again():
    """The locking statement reads the other tables as they were when it began: a run that
    committed meanwhile (its locks gone by the time this statement reached the rows) may have
    made a row leave the queryset through another table. Here that commit is made, on another
    connection, right after the locking statement: the batch handed on holds only what still
    matches (core.jobs.for_each_locked_batch), so nobody is written to twice."""
    import threading

    from django.db import connection
    from django.db.models import Exists, OuterRef

    from core.jobs import for_each_locked_batch

    first, second = GestionnaireFactory(), GestionnaireFactory()
    # Asked = an e-mail already written to the address (no foreign key to the locked rows).
    asked = SentEmail.objects.filter(recipient=OuterRef("email"), template="test/asked")
    to_ask = User.objects.filter(pk__in=[first.pk, second.pk]).exclude(Exists(asked))

    def the_other_run_finishes_first():
        SentEmail.objects.create(recipient=first.email, template="test/asked")
        connection.close()

    committed = []

    def after_the_lock(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "FOR UPDATE" in sql and not committed:
            other = threading.Thread(target=the_other_run_finishes_first)
            other.start()
            other.join(timeout=30)
            committed.append(not other.is_alive())
        return result

    processed = []
    with connection.execute_wrapper(after_the_lock):
        for_each_locked_batch(to_ask, processed.extend, size=10)

    assert committed == [True]
    assert processed == [second]
