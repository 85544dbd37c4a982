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
