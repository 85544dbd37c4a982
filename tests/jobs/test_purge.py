"""Purge of inactive accounts (SPEC §6): after the shortest delay of the structure's organismes."""

import datetime

import pytest

from accounts.jobs import purge_inactive_accounts
from accounts.models import AccountEvent, Invitation, User
from accounts.services import next_identifiant
from conventions.models import Offre
from demandes.models import Demande, Evenement
from notifications.models import SentEmail
from organismes.models import StructureEvent
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    TechnicienFactory,
)
from tests.helpers import make_demande

from .conftest import paris, snapshot

pytestmark = pytest.mark.django_db


def inactive(factory=TechnicienFactory, *, since: datetime.datetime, **fields) -> User:
    return factory(is_active=False, inactivated_at=since, **fields)


def structure_with_delays(*delays: int):
    structure = StructureFactory()
    for delay in delays:
        ConventionFactory(
            structure=structure,
            organisme=OrganismeFactory(delai_purge_mois=delay),
            date_debut=datetime.date(2024, 1, 1),
            date_fin=datetime.date(2025, 6, 30),
        )
    return structure


def exists(account: User) -> bool:
    return User.objects.filter(pk=account.pk).exists()


def test_accounts_inactive_for_more_than_6_months_are_deleted(now):
    structure = structure_with_delays(6)
    now(2026, 3, 1, 2, 0)
    old = inactive(structure=structure, since=paris(2025, 9, 1, 1, 59))
    recent = inactive(structure=structure, since=paris(2025, 9, 1, 2, 1))
    active = GestionnaireFactory(structure=structure)

    report = purge_inactive_accounts()

    assert (report.structures, report.accounts_deleted) == (1, 1)
    assert not exists(old)
    assert exists(recent)
    assert exists(active)


def test_a_structure_without_any_convention_uses_6_months(now):
    now(2026, 3, 1, 2, 0)
    structure = StructureFactory()
    old = inactive(structure=structure, since=paris(2025, 8, 31, 12))
    recent = inactive(structure=structure, since=paris(2025, 9, 15, 12))

    purge_inactive_accounts()

    assert not exists(old)
    assert exists(recent)


def test_a_fund_with_a_3_month_delay_purges_sooner(now):
    six, three = structure_with_delays(6), structure_with_delays(3)
    now(2026, 3, 1, 2, 0)
    kept = inactive(structure=six, since=paris(2025, 11, 15, 12))
    purged = inactive(structure=three, since=paris(2025, 11, 15, 12))
    not_yet = inactive(structure=three, since=paris(2025, 12, 2, 12))

    purge_inactive_accounts()

    assert exists(kept)
    assert not exists(purged)
    assert exists(not_yet)


def test_the_shortest_delay_among_the_structure_organismes_applies(now):
    structure = structure_with_delays(6, 3, 12)
    now(2026, 3, 1, 2, 0)
    account = inactive(structure=structure, since=paris(2025, 11, 15, 12))

    purge_inactive_accounts()

    assert not exists(account)


def test_months_are_calendar_months(now):
    structure = structure_with_delays(6)
    now(2026, 8, 31, 2, 0)  # 6 months before: 28 February 2026, same time
    purged = inactive(structure=structure, since=paris(2026, 2, 28, 1, 59))
    kept = inactive(structure=structure, since=paris(2026, 2, 28, 2, 1))

    purge_inactive_accounts()

    assert not exists(purged)
    assert exists(kept)


def test_agents_and_administrators_are_not_purged(now):
    now(2026, 3, 1, 2, 0)
    agent = inactive(AgentFactory, since=paris(2024, 1, 1, 9))

    assert purge_inactive_accounts().accounts_deleted == 0
    assert exists(agent)


def test_the_structure_history_records_the_purge_with_a_count_only(now):
    structure = structure_with_delays(6)
    now(2026, 3, 1, 2, 0)
    accounts = [
        inactive(GestionnaireFactory, structure=structure, since=paris(2025, 5, 1, 9)),
        inactive(structure=structure, since=paris(2025, 6, 1, 9)),
    ]

    purge_inactive_accounts()

    event = StructureEvent.objects.get(structure=structure)
    assert event.kind == StructureEvent.Kind.ACCOUNTS_PURGED
    assert event.at == paris(2026, 3, 1, 2, 0)
    assert event.details == {"comptes_supprimes": 2}
    assert not User.objects.filter(pk__in=[account.pk for account in accounts]).exists()


def test_a_purged_account_disappears_with_its_own_history_and_frees_its_identifiant(now):
    structure = structure_with_delays(6)
    now(2025, 1, 10, 9, 0)
    gestionnaire = GestionnaireFactory(structure=structure)
    technicien = TechnicienFactory(
        structure=structure, prenom="Maryse", nom_patronymique="PICHON", identifiant="m.pichon"
    )
    AccountEvent.objects.create(account=technicien, kind=AccountEvent.Kind.CREATED, by=gestionnaire)
    Invitation.objects.create(account=technicien, expires_at=paris(2025, 1, 13, 9))
    sent = SentEmail.objects.create(
        template="accounts/invitation", recipient=technicien.email, account=technicien
    )
    User.objects.filter(pk=technicien.pk).update(
        is_active=False, inactivated_at=paris(2025, 2, 1, 9)
    )
    # The purged gestionnaire had created a technicien who stays: only the link goes.
    survivor = TechnicienFactory(structure=structure, created_by=gestionnaire)
    AccountEvent.objects.create(account=survivor, kind=AccountEvent.Kind.CREATED, by=gestionnaire)
    User.objects.filter(pk=gestionnaire.pk).update(
        is_active=False, inactivated_at=paris(2025, 2, 1, 9)
    )

    now(2026, 3, 1, 2, 0)
    purge_inactive_accounts()

    assert not exists(technicien)
    assert not exists(gestionnaire)
    assert not AccountEvent.objects.filter(account_id=technicien.pk).exists()
    assert not Invitation.objects.filter(account_id=technicien.pk).exists()
    survivor.refresh_from_db()
    assert survivor.created_by is None
    assert AccountEvent.objects.get(account=survivor).by is None
    sent.refresh_from_db()
    assert sent.account is None  # the e-mail log keeps its line until its own retention
    assert next_identifiant("Maryse", "PICHON") == "m.pichon"


def test_demandes_survive_the_purge_of_their_author(now):
    now(2025, 3, 1, 10, 0)
    convention = ConventionFactory(date_debut=datetime.date(2025, 1, 1))
    convention.offres.add(Offre.objects.get(code="rendez-vous"))
    technicien = TechnicienFactory(structure=convention.structure)
    demande = make_demande(technicien, convention)
    User.objects.filter(pk=technicien.pk).update(
        is_active=False, inactivated_at=paris(2025, 4, 1, 9)
    )

    now(2026, 3, 1, 2, 0)
    assert purge_inactive_accounts().accounts_deleted == 1

    demande = Demande.objects.get(pk=demande.pk)
    assert demande.auteur is None
    assert demande.structure == convention.structure
    assert Evenement.objects.get(demande=demande).auteur is None


def test_running_twice_changes_nothing_more(now):
    structure = structure_with_delays(6)
    now(2026, 3, 1, 2, 0)
    inactive(structure=structure, since=paris(2025, 5, 1, 9))
    inactive(structure=structure, since=paris(2026, 2, 1, 9))

    assert purge_inactive_accounts().accounts_deleted == 1
    state = snapshot()
    assert purge_inactive_accounts().accounts_deleted == 0
    assert snapshot() == state


# --- Every relation to the account model, so that a new one makes the purge be revisited ----

# (model, field, what the purge does to it). Change this list only after checking that the purge
# of an account still does the right thing with the new relation: delete what is personal to the
# account, keep (with the author set to NULL) what belongs to the structure or the fund.
EXPECTED_RELATIONS = {
    ("accounts.User", "created_by", "SET_NULL"),
    ("accounts.Invitation", "account", "CASCADE"),
    ("accounts.AccountEvent", "account", "CASCADE"),
    ("accounts.AccountEvent", "by", "SET_NULL"),
    # Django's own admin log is no longer written (core.history is); its rows would go.
    ("admin.LogEntry", "user", "CASCADE"),
    # The access log keeps the account's identifiant ("… (compte supprimé)") until its own
    # retention purge; only agents and administrators are logged, never purged by this job.
    ("audit.AccessLogEntry", "user", "SET_NULL"),
    # The admin's history of changes: the lines of a deleted author read "compte supprimé", the
    # lines about a deleted account lose its name (core.history.forget_objects, in the purge).
    ("core.HistoryEntry", "by", "SET_NULL"),
    ("demandes.Demande", "auteur", "SET_NULL"),  # "compte supprimé"
    ("demandes.Evenement", "auteur", "SET_NULL"),
    ("demandes.NoteInterne", "auteur", "SET_NULL"),  # the fund's note stays, "compte supprimé"
    # An agent's choice of notifications is theirs alone: it goes with the account.
    ("demandes.NotificationPreferences", "agent", "CASCADE"),
    # The owning agent, and who a demande was assigned to: unassigned once purged (issue 18).
    ("demandes.Demande", "assigned_to", "SET_NULL"),
    ("demandes.Evenement", "attribue_a", "SET_NULL"),
    ("notifications.SentEmail", "account", "SET_NULL"),  # kept until its retention purge
    ("organismes.StructureEvent", "by", "SET_NULL"),  # the structure's history stays
    # A purged gestionnaire's review stays: "compte supprimé" in the admin.
    ("accounts.HabilitationReview", "by", "SET_NULL"),
    ("inscriptions.PreInscription", "decided_by", "SET_NULL"),  # an agent: never purged
    ("inscriptions.PreInscription", "gestionnaire", "SET_NULL"),  # the request stays
    # The second factor's devices (agents and administrators; partners have none for now):
    # they go with the account.
    ("otp_totp.TOTPDevice", "user", "CASCADE"),
    ("otp_static.StaticDevice", "user", "CASCADE"),
    ("django_otp_webauthn.WebAuthnCredential", "user", "CASCADE"),
    ("django_otp_webauthn.WebAuthnUserHandle", "user", "CASCADE"),
}
EXPECTED_MANY_TO_MANY = {
    ("accounts.User", "groups"),
    ("accounts.User", "user_permissions"),
}


def reverse_relations(model) -> list:
    """Every relation pointing to `model`, hidden ones (related_name="+") included: they are the
    ones the deletion follows. `_meta.related_objects` alone leaves the hidden ones out."""
    return [
        field
        for field in model._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and field.is_relation
    ]


def test_every_relation_to_the_account_model_is_known_to_the_purge():
    relations, many_to_many = set(), {(User._meta.label, f.name) for f in User._meta.many_to_many}
    for relation in reverse_relations(User):
        if relation.many_to_many:
            many_to_many.add((relation.related_model._meta.label, relation.field.name))
        elif relation.related_model._meta.auto_created:
            continue  # the table of a many-to-many field, counted above
        else:
            relations.add(
                (
                    relation.related_model._meta.label,
                    relation.field.name,
                    relation.on_delete.__name__,
                )
            )
    # Nothing visible escapes the walk above.
    assert {r for r in User._meta.related_objects if not r.many_to_many} <= set(
        reverse_relations(User)
    )

    assert relations == EXPECTED_RELATIONS
    assert many_to_many == EXPECTED_MANY_TO_MANY
