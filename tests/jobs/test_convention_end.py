"""Convention end (SPEC §6): a structure left without any convention loses its accounts."""

import datetime

import pytest

from accounts.jobs import end_conventions
from accounts.models import AccountEvent, Invitation, User
from conventions.models import Convention
from organismes.models import StructureEvent
from tests.factories import (
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    TechnicienFactory,
)

from .conftest import paris, snapshot

pytestmark = pytest.mark.django_db


def ended_convention(date_fin: datetime.date, **fields) -> Convention:
    return ConventionFactory(
        date_debut=datetime.date(2025, 1, 1),
        date_fin=date_fin,
        reference="CONV-OISE-2025",
        organisme=OrganismeFactory(nom="CPAM DE L'OISE"),
        **fields,
    )


@pytest.fixture
def convention(now):
    now(2026, 3, 10, 1, 0)
    return ended_convention(datetime.date(2026, 3, 9))


@pytest.fixture
def accounts(convention):
    structure = convention.structure
    return {
        "gestionnaire": GestionnaireFactory(structure=structure),
        "technicien": TechnicienFactory(structure=structure),
        "invited": TechnicienFactory(structure=structure, password=None),
        "inactive": TechnicienFactory(
            structure=structure, is_active=False, inactivated_at=paris(2026, 1, 5, 9)
        ),
    }


def test_a_structure_whose_only_convention_ended_yesterday_loses_all_its_accounts(
    convention, accounts
):
    invitation = Invitation.objects.create(
        account=accounts["invited"], expires_at=paris(2026, 3, 12, 0)
    )
    other_structure = GestionnaireFactory(structure=StructureFactory())

    report = end_conventions()

    assert (report.conventions, report.structures_closed) == (1, 1)
    assert report.accounts_inactivated == 3
    assert report.invitations_revoked == 1
    moment = paris(2026, 3, 10, 1, 0)
    for name in ("gestionnaire", "technicien", "invited"):
        account = User.objects.get(pk=accounts[name].pk)
        assert not account.is_active
        assert account.inactivated_at == moment
    invitation.refresh_from_db()
    assert invitation.revoked_at == moment
    # The account inactivated earlier keeps its date; another structure is not touched.
    assert User.objects.get(pk=accounts["inactive"].pk).inactivated_at == paris(2026, 1, 5, 9)
    assert User.objects.get(pk=other_structure.pk).is_active
    convention.refresh_from_db()
    assert convention.end_processed_at == moment


def test_each_inactivated_account_has_a_history_line_saying_why(convention, accounts):
    end_conventions()

    events = AccountEvent.objects.filter(kind=AccountEvent.Kind.INACTIVATED).order_by("account")
    assert [event.account_id for event in events] == sorted(
        accounts[name].pk for name in ("gestionnaire", "technicien", "invited")
    )
    for event in events:
        assert event.reason == "Fin de convention CONV-OISE-2025 avec CPAM DE L'OISE"
        assert event.by is None
        assert event.at == paris(2026, 3, 10, 1, 0)
    assert not AccountEvent.objects.filter(account=accounts["inactive"]).exists()


def test_the_structure_history_records_the_end_with_counts_and_no_personal_data(
    convention, accounts
):
    end_conventions()

    event = StructureEvent.objects.get(structure=convention.structure)
    assert event.kind == StructureEvent.Kind.CONVENTION_ENDED
    assert event.details == {
        "conventions": [
            {
                "id": convention.pk,
                "reference": "CONV-OISE-2025",
                "organisme": "CPAM DE L'OISE",
                "date_fin": "2026-03-09",
            }
        ],
        "gestionnaires_inactives": 1,
        "techniciens_inactives": 2,
    }
    text = str(event.details)
    for account in accounts.values():
        assert account.email not in text
        assert account.identifiant not in text


def test_a_convention_ending_today_is_not_ended_yet(now):
    now(2026, 3, 9, 23, 30)
    convention = ended_convention(datetime.date(2026, 3, 9))
    gestionnaire = GestionnaireFactory(structure=convention.structure)

    report = end_conventions()

    assert report.conventions == 0
    assert User.objects.get(pk=gestionnaire.pk).is_active
    convention.refresh_from_db()
    assert convention.end_processed_at is None
    assert not StructureEvent.objects.exists()


@pytest.mark.parametrize(
    ("debut", "fin"),
    [
        (datetime.date(2025, 6, 1), None),  # en cours, open-ended
        (datetime.date(2025, 6, 1), datetime.date(2026, 3, 10)),  # en cours, ends today
        (datetime.date(2026, 4, 1), datetime.date(2027, 3, 31)),  # à venir
    ],
    ids=["en-cours", "en-cours-last-day", "a-venir"],
)
def test_another_convention_with_another_organisme_keeps_the_accounts(
    convention, accounts, debut, fin
):
    ConventionFactory(
        structure=convention.structure,
        organisme=OrganismeFactory(nom="CPAM GIRONDE"),
        date_debut=debut,
        date_fin=fin,
    )
    before = list(User.objects.order_by("pk").values_list("pk", "is_active", "inactivated_at"))

    report = end_conventions()

    assert (report.conventions, report.structures_closed, report.accounts_inactivated) == (1, 0, 0)
    assert list(User.objects.order_by("pk").values_list("pk", "is_active", "inactivated_at")) == (
        before
    )
    assert not AccountEvent.objects.filter(kind=AccountEvent.Kind.INACTIVATED).exists()
    assert not StructureEvent.objects.exists()
    convention.refresh_from_db()
    assert convention.end_processed_at == paris(2026, 3, 10, 1, 0)


def test_two_ended_conventions_dealt_with_together_are_both_named_in_one_line(convention, accounts):
    older = ConventionFactory(
        structure=convention.structure,
        organisme=OrganismeFactory(nom="CPAM GIRONDE"),
        reference="CONV-GIR-2024",
        date_debut=datetime.date(2024, 1, 1),
        date_fin=datetime.date(2024, 12, 31),
    )

    end_conventions()

    reasons = set(
        AccountEvent.objects.filter(kind=AccountEvent.Kind.INACTIVATED).values_list(
            "reason", flat=True
        )
    )
    assert reasons == {
        "Fin de convention CONV-OISE-2025 avec CPAM DE L'OISE ; "
        "Fin de convention CONV-GIR-2024 avec CPAM GIRONDE"
    }
    assert StructureEvent.objects.filter(structure=convention.structure).count() == 1
    older.refresh_from_db()
    assert older.end_processed_at is not None


def test_running_twice_changes_nothing_more(convention, accounts):
    first = end_conventions()
    after_first = snapshot()
    second = end_conventions()

    assert first.accounts_inactivated == 3
    assert (second.conventions, second.accounts_inactivated) == (0, 0)
    assert snapshot() == after_first


def test_a_convention_extended_after_its_end_was_dealt_with_is_dealt_with_again(
    now, convention, accounts
):
    end_conventions()
    # The fund extends the convention and the partner's accounts are reactivated.
    now(2026, 3, 12, 10, 0)
    Convention.objects.filter(pk=convention.pk).update(date_fin=datetime.date(2026, 6, 30))
    User.objects.filter(pk=accounts["gestionnaire"].pk).update(is_active=True, inactivated_at=None)
    assert end_conventions().conventions == 0

    now(2026, 7, 1, 1, 0)
    report = end_conventions()

    assert (report.conventions, report.accounts_inactivated) == (1, 1)
    assert not User.objects.get(pk=accounts["gestionnaire"].pk).is_active
    assert StructureEvent.objects.filter(structure=convention.structure).count() == 2
