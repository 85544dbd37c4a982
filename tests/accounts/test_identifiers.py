"""SPEC §3, login identifier: first letter of the prénom, a dot, the nom; the smallest free number
from 2 when taken; never changed afterwards."""

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import AccountEvent, Role
from core.validators import login_identifier_base
from tests.factories import AgentFactory, ConventionFactory, GestionnaireFactory, TechnicienFactory


@pytest.mark.parametrize(
    ("prenom", "nom", "identifiant"),
    [
        ("Maryse", "PICHON", "m.pichon"),
        ("Élodie", "LÉVÊQUE", "e.leveque"),
        ("Jean-Pierre", "D'ARTAGNAN-DE LA TOUR", "j.dartagnandelatour"),
        ("Anne", "N’DIAYE", "a.ndiaye"),
        ("Çécile", "GARÇON", "c.garcon"),
        ("Œdipe", "CŒUR", "o.coeur"),
        ("Lætitia", "STRAßE", "l.strasse"),
    ],
)
def test_login_identifier_base_keeps_lower_case_letters_only(prenom, nom, identifiant):
    assert login_identifier_base(prenom, nom) == identifiant


@pytest.mark.django_db
def test_the_first_account_of_a_name_gets_the_plain_identifier():
    assert services.next_identifiant("Maryse", "PICHON") == "m.pichon"


@pytest.mark.django_db
def test_a_homonym_gets_the_number_2_then_3():
    TechnicienFactory(identifiant="v.chausson")
    assert services.next_identifiant("Valérie", "CHAUSSON") == "v.chausson2"
    TechnicienFactory(identifiant="v.chausson2")
    assert services.next_identifiant("Vincent", "CHAUSSON") == "v.chausson3"


@pytest.mark.django_db
def test_the_smallest_free_number_is_taken():
    TechnicienFactory(identifiant="v.chausson")
    TechnicienFactory(identifiant="v.chausson3")
    assert services.next_identifiant("Valérie", "CHAUSSON") == "v.chausson2"


@pytest.mark.django_db
def test_a_free_plain_identifier_is_reused_even_if_numbered_ones_exist():
    TechnicienFactory(identifiant="v.chausson2")
    assert services.next_identifiant("Valérie", "CHAUSSON") == "v.chausson"


@pytest.mark.django_db
def test_an_inactive_account_still_holds_its_identifier():
    TechnicienFactory(identifiant="m.pichon", is_active=False, inactivated_at=timezone.now())
    assert services.next_identifiant("Maryse", "PICHON") == "m.pichon2"


@pytest.mark.django_db
def test_an_account_of_another_role_holds_its_identifier_too():
    AgentFactory(identifiant="m.pichon")
    assert services.next_identifiant("Maryse", "PICHON") == "m.pichon2"


@pytest.mark.django_db
def test_a_longer_name_starting_alike_does_not_take_the_identifier():
    TechnicienFactory(identifiant="m.pichonnet")
    TechnicienFactory(identifiant="m.pichonnet2")
    assert services.next_identifiant("Maryse", "PICHON") == "m.pichon"


@pytest.mark.django_db
def test_a_longer_name_does_not_count_as_a_homonym_number():
    TechnicienFactory(identifiant="m.pichon")
    TechnicienFactory(identifiant="m.pichonnet")
    assert services.next_identifiant("Maryse", "PICHON") == "m.pichon2"


# --- Through the creation service ----------------------------------------------------------


def person(**overrides) -> dict:
    data = {
        "civilite": "MME",
        "nom_patronymique": "PICHON",
        "nom_usuel": "",
        "prenom": "Maryse",
        "fonction": "Bénévole",
        "telephone": "07.00.00.00.00",
        "email": "maryse.pichon@ccas.example",
    }
    data.update(overrides)
    return data


@pytest.fixture
def convention():
    return ConventionFactory(max_techniciens=25)


@pytest.fixture
def gestionnaire(convention):
    return GestionnaireFactory(structure=convention.structure, identifiant="g.responsable")


def create_technicien(convention, gestionnaire, **overrides):
    return services.create_partner_account(
        by=gestionnaire,
        role=Role.TECHNICIEN,
        structure=convention.structure,
        organisme=convention.organisme,
        data=person(**overrides),
    )


@pytest.mark.django_db
def test_creation_gives_maryse_pichon_the_identifier_m_pichon(convention, gestionnaire):
    account = create_technicien(convention, gestionnaire)
    account.refresh_from_db()
    assert account.identifiant == "m.pichon"


@pytest.mark.django_db
def test_the_nom_usuel_wins_over_the_nom_patronymique(convention, gestionnaire):
    account = create_technicien(convention, gestionnaire, nom_usuel="MARTIN")
    account.refresh_from_db()
    assert account.identifiant == "m.martin"


@pytest.mark.django_db
def test_creation_of_homonyms_numbers_them(convention, gestionnaire):
    first = create_technicien(
        convention,
        gestionnaire,
        prenom="Valérie",
        nom_patronymique="CHAUSSON",
        email="v1@ccas.example",
    )
    second = create_technicien(
        convention,
        gestionnaire,
        prenom="Vincent",
        nom_patronymique="CHAUSSON",
        email="v2@ccas.example",
    )
    third = create_technicien(
        convention,
        gestionnaire,
        prenom="Victor",
        nom_patronymique="CHAUSSON",
        email="v3@ccas.example",
    )
    assert [first.identifiant, second.identifiant, third.identifiant] == [
        "v.chausson",
        "v.chausson2",
        "v.chausson3",
    ]


@pytest.mark.django_db
def test_renaming_an_account_never_changes_its_identifiant(convention, gestionnaire):
    # The manual's example: Maryse PICHON marries and becomes MARTIN as nom usuel.
    account = create_technicien(convention, gestionnaire)
    assert account.identifiant == "m.pichon"

    changes = services.modify_account(
        by=gestionnaire, account=account, data={"nom_usuel": "MARTIN", "prenom": "Marise"}
    )

    account.refresh_from_db()
    assert changes == {"nom_usuel": ["", "MARTIN"], "prenom": ["Maryse", "Marise"]}
    assert account.nom == "MARTIN"
    assert account.identifiant == "m.pichon"
    event = account.events.get(kind=AccountEvent.Kind.MODIFIED)
    assert "identifiant" not in event.changes


@pytest.mark.django_db
def test_modify_account_ignores_an_identifiant_in_the_data(convention, gestionnaire):
    account = create_technicien(convention, gestionnaire)
    services.modify_account(by=gestionnaire, account=account, data={"identifiant": "m.martin"})
    account.refresh_from_db()
    assert account.identifiant == "m.pichon"


@pytest.mark.django_db
def test_a_renamed_account_keeps_its_identifier_taken(convention, gestionnaire):
    account = create_technicien(convention, gestionnaire)
    services.modify_account(by=gestionnaire, account=account, data={"nom_usuel": "MARTIN"})
    newcomer = create_technicien(convention, gestionnaire, email="autre@ccas.example")
    assert newcomer.identifiant == "m.pichon2"
