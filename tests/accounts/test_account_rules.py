"""SPEC §3, §4 and §7: the account services enforce the quotas of the conventions, keep the last
active accounts of a structure, and record every change in an append-only history."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import services
from accounts.models import AccountEvent, Invitation, Role, User
from tests.factories import (
    TEST_PASSWORD,
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import EMAIL_TAKEN_HERE, EMAIL_UNAVAILABLE, run_at_once

D = datetime.date
QUOTA_TECHNICIENS = (
    "Le nombre maximum de techniciens actifs prévu par la convention ({}) est atteint."
)
QUOTA_GESTIONNAIRES = (
    "Le nombre maximum de gestionnaires actifs prévu par la convention ({}) est atteint."
)
NO_CONVENTION = "Cette structure n'a aucune convention en cours ou à venir avec l'organisme."
LAST_GESTIONNAIRE = (
    "C'est le dernier gestionnaire actif de la structure : créez ou réactivez "
    "d'abord un autre gestionnaire."
)
LAST_TECHNICIEN = (
    "C'est le dernier technicien actif de la structure : créez d'abord le compte qui le remplace."
)
INVITATION_LINK = re.compile(re.escape(settings.SITE_URL) + r"/invitation/[\w-]+/")


def person(number: int = 1, **overrides) -> dict:
    data = {
        "civilite": "MME",
        "nom_patronymique": "PICHON",
        "nom_usuel": "",
        "prenom": "Maryse",
        "fonction": "Bénévole",
        "telephone": "07.00.00.00.00",
        "email": f"personne{number}@ccas.example",
    }
    data.update(overrides)
    return data


def inactive(factory, **kwargs):
    return factory(is_active=False, inactivated_at=timezone.now(), **kwargs)


def create(by, role, convention, *, organisme=None, **data):
    return services.create_partner_account(
        by=by,
        role=role,
        structure=convention.structure,
        organisme=organisme or convention.organisme,
        data=person(**data),
    )


@pytest.fixture
def convention(db):
    """En cours, 2 gestionnaires and 5 techniciens at most."""
    return ConventionFactory()


@pytest.fixture
def agent(convention):
    return AgentFactory(organisme=convention.organisme, identifiant="a.agent")


@pytest.fixture
def gestionnaire(convention):
    return GestionnaireFactory(structure=convention.structure, identifiant="g.gestion")


# --- Creation and quotas -------------------------------------------------------------------


def test_a_gestionnaire_creates_a_technicien_within_the_quota(convention, gestionnaire):
    TechnicienFactory.create_batch(4, structure=convention.structure)
    account = create(gestionnaire, Role.TECHNICIEN, convention)
    account.refresh_from_db()
    assert account.is_active
    assert account.role == Role.TECHNICIEN
    assert account.structure == convention.structure
    assert account.created_by == gestionnaire
    assert not account.has_usable_password()
    event = account.events.get(kind=AccountEvent.Kind.CREATED)
    assert event.by == gestionnaire


def test_the_technicien_quota_is_enforced(convention, gestionnaire):
    TechnicienFactory.create_batch(5, structure=convention.structure)
    with pytest.raises(services.QuotaReached) as error:
        create(gestionnaire, Role.TECHNICIEN, convention)
    assert str(error.value) == QUOTA_TECHNICIENS.format(5)
    assert convention.structure.active_techniciens().count() == 5
    assert not User.objects.filter(email="personne1@ccas.example").exists()


def test_the_gestionnaire_quota_is_enforced(convention, agent, gestionnaire):
    GestionnaireFactory(structure=convention.structure)
    with pytest.raises(services.QuotaReached) as error:
        create(agent, Role.GESTIONNAIRE, convention)
    assert str(error.value) == QUOTA_GESTIONNAIRES.format(2)
    assert convention.structure.active_gestionnaires().count() == 2


def test_an_agent_creates_a_gestionnaire_within_the_quota(convention, agent, gestionnaire):
    account = create(agent, Role.GESTIONNAIRE, convention)
    assert account.role == Role.GESTIONNAIRE
    assert convention.structure.active_gestionnaires().count() == 2


def test_inactive_accounts_do_not_count_in_the_quota(convention, gestionnaire):
    TechnicienFactory.create_batch(4, structure=convention.structure)
    inactive(TechnicienFactory, structure=convention.structure)
    inactive(TechnicienFactory, structure=convention.structure)
    account = create(gestionnaire, Role.TECHNICIEN, convention)
    assert account.is_active
    assert convention.structure.active_techniciens().count() == 5


def test_other_structures_accounts_do_not_count_in_the_quota(convention, gestionnaire):
    TechnicienFactory.create_batch(5)  # each in its own structure
    create(gestionnaire, Role.TECHNICIEN, convention)
    assert convention.structure.active_techniciens().count() == 1


def test_the_strictest_convention_applies_whichever_organisme_is_selected(db):
    """SPEC §10: CPAM Gironde's limit reached (2 of 2), selecting CPAM Côte d'Opale (limit 10)
    does not let a third technicien in; the same for a reactivation."""
    small = ConventionFactory(max_techniciens=2)
    large = ConventionFactory(structure=small.structure, max_techniciens=10)
    gestionnaire = GestionnaireFactory(structure=small.structure)
    TechnicienFactory.create_batch(2, structure=small.structure)
    dormant = inactive(TechnicienFactory, structure=small.structure)

    for convention in (small, large):
        with pytest.raises(services.QuotaReached) as error:
            create(gestionnaire, Role.TECHNICIEN, convention)
        assert str(error.value) == QUOTA_TECHNICIENS.format(2)
        with pytest.raises(services.QuotaReached):
            services.reactivate_account(
                by=gestionnaire, account=dormant, organisme=convention.organisme, reason="Retour"
            )
    assert small.structure.active_techniciens().count() == 2


def test_a_convention_a_venir_counts_among_the_strictest(db):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    current = ConventionFactory(max_techniciens=10)
    ConventionFactory(structure=current.structure, date_debut=tomorrow, max_techniciens=1)
    gestionnaire = GestionnaireFactory(structure=current.structure)
    TechnicienFactory(structure=current.structure)

    with pytest.raises(services.QuotaReached) as error:
        create(gestionnaire, Role.TECHNICIEN, current)
    assert str(error.value) == QUOTA_TECHNICIENS.format(1)


def test_creation_is_refused_without_a_convention(db):
    structure = StructureFactory()
    agent = AgentFactory()
    with pytest.raises(services.NoConvention) as error:
        services.create_partner_account(
            by=agent,
            role=Role.GESTIONNAIRE,
            structure=structure,
            organisme=agent.organisme,
            data=person(),
        )
    assert str(error.value) == NO_CONVENTION
    assert not structure.comptes.exists()


def test_creation_is_refused_without_a_convention_with_that_organisme(convention, gestionnaire):
    with pytest.raises(services.NoConvention):
        create(gestionnaire, Role.TECHNICIEN, convention, organisme=OrganismeFactory())


def test_creation_is_allowed_while_the_convention_is_a_venir(db):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    convention = ConventionFactory(date_debut=tomorrow, max_gestionnaires=1)
    agent = AgentFactory(organisme=convention.organisme)
    account = create(agent, Role.GESTIONNAIRE, convention)
    assert account.is_active
    with pytest.raises(services.QuotaReached):
        create(agent, Role.GESTIONNAIRE, convention, email="autre@ccas.example")


def test_an_ended_convention_grants_nothing(db):
    with time_machine.travel(datetime.datetime(2025, 6, 15, 12, tzinfo=datetime.UTC)):
        convention = ConventionFactory(date_debut=D(2024, 1, 1), date_fin=D(2025, 6, 14))
        agent = AgentFactory(organisme=convention.organisme)
        with pytest.raises(services.NoConvention):
            create(agent, Role.GESTIONNAIRE, convention)
        assert not convention.structure.comptes.exists()


def test_an_ended_convention_does_not_lend_its_quota(db):
    with time_machine.travel(datetime.datetime(2025, 6, 15, 12, tzinfo=datetime.UTC)):
        ended = ConventionFactory(
            date_debut=D(2024, 1, 1), date_fin=D(2024, 12, 31), max_techniciens=25
        )
        current = ConventionFactory(
            structure=ended.structure,
            organisme=ended.organisme,
            date_debut=D(2025, 1, 1),
            max_techniciens=1,
        )
        gestionnaire = GestionnaireFactory(structure=current.structure)
        TechnicienFactory(structure=current.structure)
        with pytest.raises(services.QuotaReached) as error:
            create(gestionnaire, Role.TECHNICIEN, current)
        assert str(error.value) == QUOTA_TECHNICIENS.format(1)


def test_creation_sends_the_invitation(
    convention, gestionnaire, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        account = create(gestionnaire, Role.TECHNICIEN, convention, prenom="Jean-Pierre")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["personne1@ccas.example"]
    assert message.subject == "Bienvenue sur Espace Partenaires"
    assert "Bonjour Jean-Pierre PICHON," in message.body
    assert account.identifiant == "j.pichon"
    assert "j.pichon" in message.body
    assert "Créer mon mot de passe" in message.body
    assert INVITATION_LINK.search(message.body)
    assert account.invitations.pending().count() == 1


def test_creation_refuses_the_email_of_an_active_account_of_the_role(convention, gestionnaire):
    TechnicienFactory(structure=convention.structure, email="personne1@ccas.example")
    with pytest.raises(services.EmailAlreadyUsed, match=EMAIL_TAKEN_HERE):
        create(gestionnaire, Role.TECHNICIEN, convention)


def test_the_refusal_does_not_say_the_address_is_used_in_another_structure(
    convention, gestionnaire
):
    TechnicienFactory(email="personne1@ccas.example")  # another structure
    with pytest.raises(services.EmailAlreadyUsed) as refused:
        create(gestionnaire, Role.TECHNICIEN, convention)
    assert str(refused.value) == EMAIL_UNAVAILABLE


# --- Inactivation --------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["agent", "superuser", "gestionnaire itself"])
def test_the_last_active_gestionnaire_cannot_be_inactivated_whoever_acts(
    convention, agent, gestionnaire, actor
):
    by = {"agent": agent, "superuser": SuperuserFactory(), "gestionnaire itself": gestionnaire}[
        actor
    ]
    inactive(GestionnaireFactory, structure=convention.structure)
    with pytest.raises(services.LastActiveAccount) as error:
        services.inactivate_account(by=by, account=gestionnaire)
    assert str(error.value) == LAST_GESTIONNAIRE
    gestionnaire.refresh_from_db()
    assert gestionnaire.is_active
    assert not gestionnaire.events.filter(kind=AccountEvent.Kind.INACTIVATED).exists()


def test_a_gestionnaire_can_be_inactivated_when_another_is_active(convention, agent, gestionnaire):
    other = GestionnaireFactory(structure=convention.structure)
    services.inactivate_account(by=agent, account=gestionnaire)
    gestionnaire.refresh_from_db()
    assert not gestionnaire.is_active
    assert other in convention.structure.active_gestionnaires()


def test_a_gestionnaire_cannot_inactivate_the_last_active_technicien(convention, gestionnaire):
    technicien = TechnicienFactory(structure=convention.structure)
    inactive(TechnicienFactory, structure=convention.structure)
    with pytest.raises(services.LastActiveAccount) as error:
        services.inactivate_account(by=gestionnaire, account=technicien)
    assert str(error.value) == LAST_TECHNICIEN
    technicien.refresh_from_db()
    assert technicien.is_active


def test_a_gestionnaire_can_inactivate_a_technicien_when_another_is_active(
    convention, gestionnaire
):
    technicien, other = TechnicienFactory.create_batch(2, structure=convention.structure)
    services.inactivate_account(by=gestionnaire, account=technicien)
    technicien.refresh_from_db()
    assert not technicien.is_active
    with pytest.raises(services.LastActiveAccount):
        services.inactivate_account(by=gestionnaire, account=other)


def test_an_agent_can_inactivate_the_last_active_technicien(convention, agent, gestionnaire):
    technicien = TechnicienFactory(structure=convention.structure)
    services.inactivate_account(by=agent, account=technicien)
    technicien.refresh_from_db()
    assert not technicien.is_active
    assert convention.structure.active_techniciens().count() == 0


def test_inactivation_sets_the_date_revokes_pending_links_and_is_recorded(
    convention, gestionnaire, django_capture_on_commit_callbacks
):
    technicien = TechnicienFactory(structure=convention.structure)
    TechnicienFactory(structure=convention.structure)
    used = Invitation.objects.create(
        account=technicien, expires_at=Invitation.new_expiry(), used_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        pending = services.invite(technicien, by=gestionnaire)

    moment = datetime.datetime(2025, 3, 10, 9, 30, tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=False):
        services.inactivate_account(by=gestionnaire, account=technicien)

    technicien.refresh_from_db()
    assert not technicien.is_active
    assert technicien.inactivated_at == moment
    pending.refresh_from_db()
    assert pending.revoked_at == moment
    assert not pending.is_usable
    used.refresh_from_db()
    assert used.revoked_at is None
    event = technicien.events.get(kind=AccountEvent.Kind.INACTIVATED)
    assert (event.by, event.at) == (gestionnaire, moment)


def test_inactivating_a_gestionnaire_leaves_the_techniciens_it_created_active(
    convention, agent, gestionnaire
):
    GestionnaireFactory(structure=convention.structure)
    technicien = create(gestionnaire, Role.TECHNICIEN, convention)
    services.inactivate_account(by=agent, account=gestionnaire)
    technicien.refresh_from_db()
    assert technicien.is_active
    assert technicien.created_by == gestionnaire


# --- Reactivation --------------------------------------------------------------------------


def test_reactivation_is_refused_over_the_quota(convention, gestionnaire):
    TechnicienFactory.create_batch(5, structure=convention.structure)
    technicien = inactive(TechnicienFactory, structure=convention.structure)
    with pytest.raises(services.QuotaReached) as error:
        services.reactivate_account(
            by=gestionnaire,
            account=technicien,
            reason="Retour de congé",
            organisme=convention.organisme,
        )
    assert str(error.value) == QUOTA_TECHNICIENS.format(5)
    technicien.refresh_from_db()
    assert not technicien.is_active
    assert technicien.reactivation_reason == ""


def test_reactivation_is_refused_when_the_email_is_now_used(convention, gestionnaire):
    technicien = inactive(
        TechnicienFactory, structure=convention.structure, email="partage@ccas.example"
    )
    TechnicienFactory(structure=convention.structure, email="partage@ccas.example")
    with pytest.raises(services.EmailAlreadyUsed):
        services.reactivate_account(
            by=gestionnaire, account=technicien, reason="Retour", organisme=convention.organisme
        )
    technicien.refresh_from_db()
    assert not technicien.is_active


def test_reactivation_sets_the_reason_kills_the_old_password_and_sends_a_new_link(
    convention, gestionnaire, django_capture_on_commit_callbacks
):
    technicien = inactive(
        TechnicienFactory,
        structure=convention.structure,
        identifiant="m.pichon",
        email="maryse@ccas.example",
    )
    assert technicien.check_password(TEST_PASSWORD)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.reactivate_account(
            by=gestionnaire,
            account=technicien,
            reason="Retour de congé parental",
            organisme=convention.organisme,
        )

    technicien.refresh_from_db()
    assert technicien.is_active
    assert technicien.inactivated_at is None
    assert technicien.reactivation_reason == "Retour de congé parental"
    assert technicien.identifiant == "m.pichon"
    assert not technicien.has_usable_password()
    assert not technicien.check_password(TEST_PASSWORD)
    event = technicien.events.get(kind=AccountEvent.Kind.REACTIVATED)
    assert (event.by, event.reason) == (gestionnaire, "Retour de congé parental")
    assert technicien.invitations.pending().count() == 1

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["maryse@ccas.example"]
    assert message.subject == "Bienvenue sur Espace Partenaires"
    assert "réactivé" in message.body
    assert "m.pichon" in message.body
    assert INVITATION_LINK.search(message.body)


# --- Modification and history --------------------------------------------------------------


def test_modification_records_before_and_after(convention, gestionnaire):
    technicien = TechnicienFactory(
        structure=convention.structure, fonction="Bénévole", telephone="07.00.00.00.00"
    )
    changes = services.modify_account(
        by=gestionnaire,
        account=technicien,
        data={"fonction": "Accueil", "telephone": "06.11.22.33.44", "prenom": technicien.prenom},
    )
    expected = {
        "fonction": ["Bénévole", "Accueil"],
        "telephone": ["07.00.00.00.00", "06.11.22.33.44"],
    }
    assert changes == expected
    event = technicien.events.get(kind=AccountEvent.Kind.MODIFIED)
    assert event.changes == expected
    assert event.by == gestionnaire
    technicien.refresh_from_db()
    assert (technicien.fonction, technicien.telephone) == ("Accueil", "06.11.22.33.44")


def test_a_modification_that_changes_nothing_is_not_recorded(convention, gestionnaire):
    technicien = TechnicienFactory(structure=convention.structure, fonction="Bénévole")
    assert (
        services.modify_account(by=gestionnaire, account=technicien, data={"fonction": "Bénévole"})
        == {}
    )
    assert not technicien.events.filter(kind=AccountEvent.Kind.MODIFIED).exists()


def test_modification_refuses_the_email_of_another_active_account_of_the_role(
    convention, gestionnaire
):
    technicien = TechnicienFactory(structure=convention.structure)
    TechnicienFactory(structure=convention.structure, email="pris@ccas.example")
    with pytest.raises(services.EmailAlreadyUsed):
        services.modify_account(
            by=gestionnaire, account=technicien, data={"email": "pris@ccas.example"}
        )
    assert not technicien.events.exists()


def test_history_rows_cannot_be_updated(convention, gestionnaire):
    technicien = TechnicienFactory(structure=convention.structure)
    services.modify_account(by=gestionnaire, account=technicien, data={"fonction": "Accueil"})
    event = technicien.events.get(kind=AccountEvent.Kind.MODIFIED)
    event.changes = {"fonction": ["Bénévole", "Autre chose"]}
    with pytest.raises(ValueError, match=r"L'historique des comptes ne se modifie pas\."):
        event.save()
    event.refresh_from_db()
    assert event.changes == {"fonction": ["Bénévole", "Accueil"]}


# --- Database constraints ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_a_partner_without_structure():
    with pytest.raises(IntegrityError), transaction.atomic():
        TechnicienFactory(structure=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        GestionnaireFactory(structure=None)


@pytest.mark.django_db
def test_the_database_refuses_a_partner_attached_to_an_organisme():
    with pytest.raises(IntegrityError), transaction.atomic():
        TechnicienFactory(organisme=OrganismeFactory())


@pytest.mark.django_db
def test_the_database_refuses_an_agent_without_organisme():
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentFactory(organisme=None)


@pytest.mark.django_db
def test_the_database_refuses_an_agent_attached_to_a_structure():
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentFactory(structure=StructureFactory())


@pytest.mark.django_db
def test_the_database_refuses_a_second_account_with_the_same_identifiant():
    TechnicienFactory(identifiant="m.pichon")
    with pytest.raises(IntegrityError), transaction.atomic():
        GestionnaireFactory(identifiant="m.pichon")
    assert User.objects.filter(identifiant="m.pichon").count() == 1


@pytest.mark.django_db
def test_the_database_refuses_two_active_accounts_of_a_role_with_one_email():
    TechnicienFactory(email="commun@ccas.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        TechnicienFactory(email="commun@ccas.example")
    # Inactive, or of another role: allowed.
    inactive(TechnicienFactory, email="commun@ccas.example")
    GestionnaireFactory(email="commun@ccas.example")
    assert User.objects.filter(email="commun@ccas.example").count() == 3


@pytest.mark.django_db
def test_the_database_refuses_an_account_without_any_nom():
    with pytest.raises(IntegrityError), transaction.atomic():
        TechnicienFactory(nom_patronymique="", nom_usuel="")


@pytest.mark.django_db
def test_the_database_refuses_an_inactive_account_without_a_date():
    with pytest.raises(IntegrityError), transaction.atomic():
        TechnicienFactory(is_active=False, inactivated_at=None)


# --- Concurrency ---------------------------------------------------------------------------


PRENOMS = ["Alice", "Bruno", "Chloé", "David", "Emma", "Farid"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("requests", [2, 6], ids=["two requests", "six requests"])
def test_gestionnaires_adding_the_last_free_place_at_once_yield_one_account(requests):
    # Six requests make the race more likely to show if the quota check were not serialised.
    convention = ConventionFactory(max_techniciens=2)
    structure = convention.structure
    gestionnaires = GestionnaireFactory.create_batch(2, structure=structure)
    TechnicienFactory(structure=structure)

    def add(number):
        return lambda: services.create_partner_account(
            by=gestionnaires[number % 2],
            role=Role.TECHNICIEN,
            structure=structure,
            organisme=convention.organisme,
            data=person(number, prenom=PRENOMS[number]),
        )

    outcomes = run_at_once(*(add(number) for number in range(requests)))

    created = [outcome for outcome in outcomes if isinstance(outcome, User)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, services.QuotaReached)]
    assert len(created) == 1, outcomes
    assert len(refused) == requests - 1, outcomes
    assert all(str(error) == QUOTA_TECHNICIENS.format(2) for error in refused)
    assert structure.active_techniciens().count() == 2
    assert list(structure.techniciens().filter(email__endswith="@ccas.example")) == created


@pytest.mark.django_db(transaction=True)
def test_two_homonyms_created_at_once_get_different_identifiers():
    conventions = ConventionFactory.create_batch(2)
    agents = [AgentFactory(organisme=convention.organisme) for convention in conventions]

    def add(agent, convention, number):
        return lambda: services.create_partner_account(
            by=agent,
            role=Role.GESTIONNAIRE,
            structure=convention.structure,
            organisme=convention.organisme,
            data=person(number),
        )

    outcomes = run_at_once(add(agents[0], conventions[0], 1), add(agents[1], conventions[1], 2))

    assert all(isinstance(outcome, User) for outcome in outcomes), outcomes
    assert sorted(outcome.identifiant for outcome in outcomes) == ["m.pichon", "m.pichon2"]


def test_history_rows_cannot_be_updated_in_bulk_either(convention, gestionnaire):
    technicien = TechnicienFactory(structure=convention.structure)
    services.modify_account(by=gestionnaire, account=technicien, data={"fonction": "Accueil"})
    with pytest.raises(TypeError, match=r"L'historique des comptes ne se modifie pas\."):
        technicien.events.update(reason="réécrit")
    assert not technicien.events.filter(reason="réécrit").exists()
