"""Each job makes as many queries for 30 accounts as for 3; it works in batches."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.jobs import (
    end_conventions,
    purge_expired_invitations,
    purge_inactive_accounts,
    remind_password_expiry,
    warn_convention_ends,
)
from accounts.models import Invitation, User
from audit.jobs import purge_access_log
from conventions.models import Convention
from inscriptions.jobs import purge_inscriptions
from inscriptions.models import MessageContact, PreInscription, Statut
from notifications.jobs import purge_sent_email_log
from notifications.models import SentEmail
from tests.factories import (
    AccessLogEntryFactory,
    ConventionFactory,
    GestionnaireFactory,
    MessageContactFactory,
    OrganismeFactory,
    PreInscriptionFactory,
    StructureFactory,
    TechnicienFactory,
)

from .conftest import paris

pytestmark = pytest.mark.django_db


def queries(job) -> tuple[int, object]:
    # SQLite probes its JSON support with a query, once per connection, on the first JSON field
    # written (the outbox's context): not one of the job's queries.
    assert connection.features.supports_json_field
    # Django caches each model's content type for the process at its first lookup (the history
    # of a purged account, core.history.forget_objects): one query a process, not the job's.
    ContentType.objects.get_for_model(User, for_concrete_model=True)
    with CaptureQueriesContext(connection) as context:
        report = job()
    return len(context.captured_queries), report


@pytest.fixture
def organisme():
    return OrganismeFactory()


def ended(organisme, accounts: int) -> Convention:
    convention = ConventionFactory(
        organisme=organisme,
        date_debut=datetime.date(2025, 1, 1),
        date_fin=datetime.date(2026, 5, 9),
    )
    GestionnaireFactory(structure=convention.structure)
    TechnicienFactory.create_batch(accounts - 1, structure=convention.structure)
    return convention


def ending(organisme, gestionnaires: int) -> Convention:
    convention = ConventionFactory(
        organisme=organisme,
        date_debut=datetime.date(2025, 1, 1),
        date_fin=datetime.date(2026, 6, 1),
    )
    GestionnaireFactory.create_batch(gestionnaires, structure=convention.structure)
    return convention


def inactive_accounts(structure, count: int) -> list[User]:
    return TechnicienFactory.create_batch(
        count, structure=structure, is_active=False, inactivated_at=paris(2025, 1, 1, 9)
    )


def test_convention_end_with_3_or_30_accounts(now, organisme):
    now(2026, 5, 10, 1, 0)
    ended(organisme, 3)
    few, report_few = queries(end_conventions)
    ended(organisme, 30)
    many, report_many = queries(end_conventions)

    assert (report_few.accounts_inactivated, report_many.accounts_inactivated) == (3, 30)
    assert few == many


def test_convention_end_with_3_or_30_conventions(now, organisme):
    now(2026, 5, 10, 1, 0)
    for _ in range(3):
        ended(organisme, 2)
    few, report_few = queries(end_conventions)
    for _ in range(30):
        ended(organisme, 2)
    many, report_many = queries(end_conventions)

    assert (report_few.structures_closed, report_many.structures_closed) == (3, 30)
    assert few == many


def test_convention_end_in_several_batches(now, organisme):
    now(2026, 5, 10, 1, 0)
    for _ in range(7):
        ended(organisme, 2)

    report = end_conventions(batch_size=3)

    assert (report.conventions, report.accounts_inactivated) == (7, 14)
    assert not User.objects.filter(is_active=True).exists()
    assert not Convention.objects.filter(end_processed_at__isnull=True).exists()


def test_warning_with_3_or_30_conventions(now, organisme):
    now(2026, 5, 10, 7, 0)
    for _ in range(3):
        ending(organisme, 1)
    few, report_few = queries(warn_convention_ends)
    for _ in range(30):
        ending(organisme, 1)
    many, report_many = queries(warn_convention_ends)

    assert (report_few.conventions, report_many.conventions) == (3, 30)
    assert few == many


def test_warning_with_3_or_30_gestionnaires(now, organisme):
    now(2026, 5, 10, 7, 0)
    ending(organisme, 3)
    few, report_few = queries(warn_convention_ends)
    ending(organisme, 30)
    many, report_many = queries(warn_convention_ends)

    assert (report_few.emails_gestionnaires, report_many.emails_gestionnaires) == (3, 30)
    assert few == many


def test_warning_in_several_batches(now, organisme):
    now(2026, 5, 10, 7, 0)
    for _ in range(7):
        ending(organisme, 1)

    assert warn_convention_ends(batch_size=3).conventions == 7
    assert not Convention.objects.filter(end_warning_sent_for__isnull=True).exists()


def test_purge_with_3_or_30_accounts(now):
    now(2026, 5, 10, 2, 0)
    inactive_accounts(StructureFactory(), 3)
    few, report_few = queries(purge_inactive_accounts)
    inactive_accounts(StructureFactory(), 30)
    many, report_many = queries(purge_inactive_accounts)

    assert (report_few.accounts_deleted, report_many.accounts_deleted) == (3, 30)
    assert few == many


def test_purge_with_3_or_30_structures(now):
    now(2026, 5, 10, 2, 0)
    for _ in range(3):
        inactive_accounts(StructureFactory(), 1)
    few, report_few = queries(purge_inactive_accounts)
    for _ in range(30):
        inactive_accounts(StructureFactory(), 1)
    many, report_many = queries(purge_inactive_accounts)

    assert (report_few.structures, report_many.structures) == (3, 30)
    assert few == many


def test_purge_in_several_batches(now):
    now(2026, 5, 10, 2, 0)
    for _ in range(7):
        inactive_accounts(StructureFactory(), 2)

    report = purge_inactive_accounts(batch_size=3)

    assert (report.structures, report.accounts_deleted) == (7, 14)
    assert not User.objects.exists()


def test_password_reminder_with_3_or_30_accounts(now, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 365
    settings.PASSWORD_EXPIRY_REMINDER_DAYS = 15
    now(2026, 5, 10, 7, 30)
    TechnicienFactory.create_batch(3, password_changed_at=paris(2025, 5, 20, 10))
    few, report_few = queries(remind_password_expiry)
    TechnicienFactory.create_batch(30, password_changed_at=paris(2025, 5, 21, 10))
    many, report_many = queries(remind_password_expiry)

    assert (report_few.reminders, report_many.reminders) == (3, 30)
    assert few == many
    assert remind_password_expiry(batch_size=4).reminders == 0


def test_password_reminder_in_several_batches(now, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 365
    settings.PASSWORD_EXPIRY_REMINDER_DAYS = 15
    now(2026, 5, 10, 7, 30)
    TechnicienFactory.create_batch(7, password_changed_at=paris(2025, 5, 20, 10))

    assert remind_password_expiry(batch_size=3).reminders == 7
    assert SentEmail.objects.filter(template="accounts/password_expiry").count() == 7


def expired_links(count: int) -> None:
    account = TechnicienFactory()
    Invitation.objects.bulk_create(
        Invitation(account=account, expires_at=paris(2026, 3, 1, 9)) for _ in range(count)
    )


def test_invitation_purge_with_3_or_30_links(now):
    now(2026, 5, 10, 3, 0)
    expired_links(3)
    few, report_few = queries(purge_expired_invitations)
    expired_links(30)
    many, report_many = queries(purge_expired_invitations)

    assert (report_few.deleted, report_many.deleted) == (3, 30)
    assert few == many


def test_email_log_purge_with_3_or_30_records(now, settings):
    settings.EMAIL_LOG_RETENTION_MONTHS = 12
    now(2024, 1, 5, 9, 0)
    for _ in range(3):
        SentEmail.objects.create(template="accounts/invitation", recipient="a@b.fr")
    now(2026, 5, 10, 3, 30)
    few, report_few = queries(purge_sent_email_log)
    now(2024, 1, 5, 9, 0)
    for _ in range(30):
        SentEmail.objects.create(template="accounts/invitation", recipient="a@b.fr")
    now(2026, 5, 10, 3, 30)
    many, report_many = queries(purge_sent_email_log)

    assert (report_few.deleted, report_many.deleted) == (3, 30)
    assert few == many


def test_access_log_purge_with_3_or_30_rows(now, settings):
    settings.ACCESS_LOG_RETENTION_MONTHS = 12

    def old_reads(count: int) -> None:
        now(2024, 1, 5, 9, 0)
        AccessLogEntryFactory.create_batch(count, user_label="a.durand")
        now(2026, 5, 10, 3, 30)

    old_reads(3)
    few, report_few = queries(purge_access_log)
    old_reads(30)
    many, report_many = queries(purge_access_log)

    assert (report_few.deleted, report_many.deleted) == (3, 30)
    assert few == many


def old_inscriptions(now, count: int) -> None:
    """`count` decided and `count` pending pré-inscriptions, `count` messages, all too old."""
    now(2024, 1, 5, 9, 0)
    convention = ConventionFactory()
    PreInscriptionFactory.create_batch(
        count, convention=convention, statut=Statut.REFUSEE, decided_at=paris(2024, 1, 5, 9)
    )
    PreInscriptionFactory.create_batch(count, convention=convention)
    MessageContactFactory.create_batch(count, organisme=convention.organisme)
    now(2026, 5, 10, 3, 45)


def test_inscription_purge_with_3_or_30_rows_of_each_kind(now, settings):
    settings.INSCRIPTION_RETENTION_MONTHS = 12
    old_inscriptions(now, 3)
    few, report_few = queries(purge_inscriptions)
    old_inscriptions(now, 30)
    many, report_many = queries(purge_inscriptions)

    assert (report_few.preinscriptions_decided, report_many.preinscriptions_decided) == (3, 30)
    assert (report_few.preinscriptions_pending, report_many.preinscriptions_pending) == (3, 30)
    assert (report_few.messages_contact, report_many.messages_contact) == (3, 30)
    assert few == many


def test_inscription_purge_deletes_batch_size_rows_at_a_time(now, settings):
    settings.INSCRIPTION_RETENTION_MONTHS = 12
    old_inscriptions(now, 7)

    with CaptureQueriesContext(connection) as context:
        report = purge_inscriptions(batch_size=3)

    deletes = [q["sql"] for q in context.captured_queries if q["sql"].startswith("DELETE")]
    # 7 rows of each of the three kinds, 3 at a time: 3 + 3 + 1, each batch one DELETE.
    assert len(deletes) == 9
    assert (
        report.preinscriptions_decided,
        report.preinscriptions_pending,
        report.messages_contact,
    ) == (7, 7, 7)
    assert not PreInscription.objects.exists()
    assert not MessageContact.objects.exists()
