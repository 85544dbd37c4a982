"""Dormant accounts (SPEC §10, issue 17 item 6): a partner account without a log-in for
DORMANT_ACCOUNT_MONTHS is warned by e-mail, then inactivated DORMANT_NOTICE_DAYS later unless it
logged in meanwhile; never the last active gestionnaire of a structure (the fund is told)."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from accounts import services
from accounts.jobs import inactivate_dormant_accounts, warn_dormant_accounts
from accounts.models import AccountEvent, Invitation, User
from notifications.models import SentEmail
from tests.factories import (
    TEST_PASSWORD,
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    TechnicienFactory,
)
from tests.helpers import all_succeed, log_in

from .conftest import paris, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def delays(settings):
    settings.DORMANT_ACCOUNT_MONTHS = 6
    settings.DORMANT_NOTICE_DAYS = 15


@pytest.fixture
def convention(now):
    now(2026, 1, 2, 9, 0)
    return ConventionFactory(
        organisme=OrganismeFactory(nom="CPAM DE L'OISE", email_referent="referent@cpam-oise.fr"),
        structure=StructureFactory(nom="CCAS DE CREIL", siret="21600175800011"),
        date_debut=datetime.date(2025, 1, 1),
    )


@pytest.fixture
def gestionnaire(convention):
    """Another active gestionnaire, who logs in every day (as far as the tests travel): the
    dormant accounts are never the last active gestionnaire."""
    return GestionnaireFactory(structure=convention.structure, last_login=paris(2027, 12, 31, 9))


@pytest.fixture
def maryse(convention, gestionnaire):
    return TechnicienFactory(
        structure=convention.structure,
        prenom="Maryse",
        nom_patronymique="PICHON",
        email="m.pichon@ccas.fr",
        last_login=paris(2026, 1, 10, 9, 0),
    )


def warn(on_commit):
    with on_commit():
        return warn_dormant_accounts()


def inactivate(on_commit):
    with on_commit():
        return inactivate_dormant_accounts()


def test_six_months_without_a_log_in_the_account_is_warned(now, maryse, on_commit):
    now(2026, 7, 10, 8, 59)
    assert warn(on_commit).warned == 0

    now(2026, 7, 10, 9, 0)
    report = warn(on_commit)

    assert report.warned == 1
    [message] = mail.outbox
    assert message.to == ["m.pichon@ccas.fr"]
    assert message.subject == "Espace Partenaires : votre compte sera inactivé le 25 juillet 2026"
    assert "Bonjour Maryse PICHON," in message.body
    assert "n'a pas été utilisé depuis 6 mois" in message.body
    assert f"{settings.SITE_URL}/connexion/" in message.body
    assert "<strong>25 juillet 2026</strong>" in message.alternatives[0].content
    maryse.refresh_from_db()
    assert maryse.dormant_warning_sent_at == paris(2026, 7, 10, 9, 0)
    assert maryse.events.filter(kind=AccountEvent.Kind.DORMANT_WARNED).count() == 1
    # Once: the next nights change nothing.
    state = snapshot()
    now(2026, 7, 11, 6, 45)
    assert warn(on_commit).warned == 0
    assert snapshot() == state


def test_fifteen_days_after_the_warning_the_account_is_inactivated(now, maryse, on_commit):
    now(2026, 7, 10, 9, 0)
    warn(on_commit)
    pending = Invitation.objects.create(account=maryse, expires_at=paris(2026, 8, 1, 9, 0))

    now(2026, 7, 25, 8, 59)
    assert inactivate(on_commit).inactivated == 0
    now(2026, 7, 25, 9, 0)
    report = inactivate(on_commit)

    assert report.inactivated == 1
    maryse.refresh_from_db()
    assert not maryse.is_active
    assert maryse.inactivated_at == paris(2026, 7, 25, 9, 0)
    event = maryse.events.get(kind=AccountEvent.Kind.INACTIVATED)
    assert (event.by, event.reason) == (None, "compte inactif depuis 6 mois")
    pending.refresh_from_db()
    assert pending.revoked_at is not None  # as for an inactivation by hand
    # She can no longer log in.
    assert not log_in(Client(), maryse.identifiant, TEST_PASSWORD)
    state = snapshot()
    assert inactivate(on_commit).inactivated == 0
    assert snapshot() == state


def test_logging_in_after_the_warning_cancels_the_inactivation(now, maryse, on_commit):
    now(2026, 7, 10, 9, 0)
    warn(on_commit)
    now(2026, 7, 20, 14, 0)
    assert log_in(Client(), maryse.identifiant, TEST_PASSWORD)
    maryse.refresh_from_db()
    assert maryse.dormant_warning_sent_at is None

    now(2026, 7, 25, 9, 0)
    assert inactivate(on_commit).inactivated == 0
    maryse.refresh_from_db()
    assert maryse.is_active
    # Six months after that log-in, a new warning.
    now(2027, 1, 20, 14, 0)
    assert warn(on_commit).warned == 1


def test_an_account_never_logged_in_counts_from_its_creation_or_last_invitation(
    now, convention, gestionnaire, on_commit
):
    now(2026, 1, 10, 9, 0)
    created = TechnicienFactory(structure=convention.structure, last_login=None)
    invited = services.create_partner_account(
        by=gestionnaire,
        role="technicien",
        structure=convention.structure,
        organisme=None,
        data={
            "civilite": "M",
            "nom_patronymique": "LEROY",
            "prenom": "Paul",
            "fonction": "Bénévole",
            "telephone": "06.00.00.00.00",
            "email": "p.leroy@ccas.fr",
        },
    )
    now(2026, 3, 1, 9, 0)
    services.resend_invitation(by=gestionnaire, account=invited)

    now(2026, 7, 10, 9, 0)
    assert warn(on_commit).warned == 1
    assert User.objects.get(dormant_warning_sent_at__isnull=False) == created
    now(2026, 9, 1, 9, 0)
    assert warn(on_commit).warned == 1
    invited.refresh_from_db()
    assert invited.dormant_warning_sent_at == paris(2026, 9, 1, 9, 0)


def test_a_reactivated_account_counts_from_its_reactivation(now, maryse, gestionnaire, on_commit):
    now(2026, 7, 10, 9, 0)
    warn(on_commit)
    now(2026, 7, 25, 9, 0)
    inactivate(on_commit)
    now(2026, 8, 1, 9, 0)
    services.reactivate_account(by=gestionnaire, account=maryse, reason="Retour de congé")

    now(2026, 8, 16, 9, 0)
    assert inactivate(on_commit).inactivated == 0
    assert warn(on_commit).warned == 0
    now(2027, 2, 1, 9, 0)
    assert warn(on_commit).warned == 1


def test_the_last_active_gestionnaire_is_kept_and_the_fund_told(now, convention, on_commit):
    """Two dormant gestionnaires: one is inactivated, the other, then the last, is kept."""
    first, second = (
        GestionnaireFactory(
            structure=convention.structure,
            prenom=prenom,
            nom_patronymique="FORT",
            email=f"{prenom.lower()}@ccas.fr",
            last_login=paris(2026, 1, 10, 9, 0),
        )
        for prenom in ("Pierre", "Anne")
    )
    now(2026, 7, 10, 9, 0)
    assert warn(on_commit).warned == 2
    mail.outbox.clear()

    now(2026, 7, 25, 9, 0)
    report = inactivate(on_commit)

    assert (report.inactivated, report.kept_last_gestionnaire) == (1, 1)
    first.refresh_from_db()
    second.refresh_from_db()
    assert not first.is_active
    assert second.is_active
    [message] = mail.outbox
    assert message.to == ["referent@cpam-oise.fr"]
    assert message.subject == (
        "Espace Partenaires : le dernier gestionnaire actif de CCAS DE CREIL n'utilise plus "
        "son compte"
    )
    assert "Anne FORT" in message.body
    assert second.identifiant in message.body
    assert "CCAS DE CREIL (SIRET 21600175800011)" in message.body
    assert "depuis 6 mois" in message.body
    assert second.events.filter(kind=AccountEvent.Kind.DORMANT_KEPT).count() == 1
    # The fund is told once.
    now(2026, 7, 26, 1, 15)
    assert inactivate(on_commit).kept_last_gestionnaire == 0
    assert len(mail.outbox) == 1


def test_agents_and_inactive_or_suspended_accounts_are_not_concerned(now, convention, on_commit):
    AgentFactory(last_login=paris(2025, 1, 1, 9, 0))
    TechnicienFactory(
        structure=convention.structure,
        last_login=paris(2025, 1, 1, 9, 0),
        is_active=False,
        inactivated_at=paris(2025, 6, 1, 9, 0),
    )
    suspended = StructureFactory(suspended_at=paris(2026, 1, 1, 9, 0))
    ConventionFactory(structure=suspended, date_debut=datetime.date(2025, 1, 1))
    GestionnaireFactory(structure=suspended, last_login=paris(2025, 1, 1, 9, 0))
    TechnicienFactory(structure=suspended, last_login=paris(2025, 1, 1, 9, 0))

    now(2026, 9, 1, 9, 0)
    assert warn(on_commit).warned == 0
    assert mail.outbox == []


def test_the_delays_follow_the_settings(now, maryse, settings, on_commit):
    settings.DORMANT_ACCOUNT_MONTHS = 3
    settings.DORMANT_NOTICE_DAYS = 30
    now(2026, 4, 10, 9, 0)
    assert warn(on_commit).warned == 1
    assert "25" not in mail.outbox[0].subject
    assert "10 mai 2026" in mail.outbox[0].subject
    now(2026, 5, 10, 8, 0)
    assert inactivate(on_commit).inactivated == 0
    now(2026, 5, 10, 9, 0)
    assert inactivate(on_commit).inactivated == 1
    assert AccountEvent.objects.get(kind="inactivated").reason == "compte inactif depuis 3 mois"


def dormant(structure, count: int) -> list[User]:
    return TechnicienFactory.create_batch(
        count,
        structure=structure,
        created_at=paris(2024, 12, 1, 9, 0),
        last_login=paris(2025, 1, 1, 9, 0),
    )


def test_the_warning_takes_as_many_queries_for_30_accounts_as_for_3(now, convention, gestionnaire):
    from .test_bounded_queries import queries

    dormant(convention.structure, 3)
    now(2026, 3, 1, 6, 45)
    few, report_few = queries(warn_dormant_accounts)
    dormant(convention.structure, 30)
    many, report_many = queries(warn_dormant_accounts)

    assert (report_few.warned, report_many.warned) == (3, 30)
    assert few == many


def test_both_phases_in_several_batches(now, convention, gestionnaire):
    dormant(convention.structure, 7)
    now(2026, 3, 1, 6, 45)
    assert warn_dormant_accounts(batch_size=3).warned == 7
    now(2026, 3, 16, 6, 45)
    assert inactivate_dormant_accounts(batch_size=3).inactivated == 7
    assert SentEmail.objects.filter(template="accounts/compte_dormant").count() == 7


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_warn_and_inactivate_each_account_once(now, delays):
    now(2025, 1, 2, 9, 0)
    convention = ConventionFactory(date_debut=datetime.date(2025, 1, 1))
    GestionnaireFactory(structure=convention.structure, last_login=None)  # the last gestionnaire
    GestionnaireFactory(structure=convention.structure, last_login=None)
    dormant(convention.structure, 4)
    now(2026, 3, 1, 6, 45)

    reports = all_succeed(*([warn_dormant_accounts] * 4))
    assert sum(report.warned for report in reports) == 6
    assert SentEmail.objects.filter(template="accounts/compte_dormant").count() == 6

    now(2026, 3, 16, 6, 45)
    reports = all_succeed(*([inactivate_dormant_accounts] * 4))
    assert sum(report.inactivated for report in reports) == 5
    assert sum(report.kept_last_gestionnaire for report in reports) == 1
    assert AccountEvent.objects.filter(kind=AccountEvent.Kind.INACTIVATED).count() == 5
    assert convention.structure.active_gestionnaires().count() == 1
    assert SentEmail.objects.filter(template="accounts/compte_dormant_referent").count() == 1
