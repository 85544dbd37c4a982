"""'Ma structure': a gestionnaire updates the structure's address and phone (SPEC §8)."""

import pytest
from django.test import Client
from django.urls import reverse

from core.pagination import HISTORY_PAGE_SIZE
from organismes.models import StructureEvent
from tests.factories import (
    TEST_PASSWORD,
    ConventionFactory,
    GestionnaireFactory,
    TechnicienFactory,
)
from tests.helpers import log_in

pytestmark = pytest.mark.django_db

URL = "/ma-structure/"
# Session, user with its structure and its conventions (organisme check; one statement,
# accounts/login_chain.py: 6 before issue 20), structure, count and page of the history (its
# authors joined). The session, written within the minute, is not written again.
QUERIES_OF_THE_PAGE = 5


@pytest.fixture
def convention():
    return ConventionFactory()


@pytest.fixture
def gestionnaire(convention):
    return GestionnaireFactory(structure=convention.structure)


@pytest.fixture
def gestionnaire_client(gestionnaire) -> Client:
    client = Client()
    assert log_in(client, gestionnaire.identifiant, TEST_PASSWORD)
    client.get(reverse("accounts:organisme_selection"))  # the only one: selected at once
    return client


NEW_ADDRESS = {
    "adresse": "12 rue de la République",
    "code_postal": "60180",
    "ville": "Nogent-sur-Oise",
    "telephone": "03 44 11 22 33",
}


def test_the_page_shows_name_and_siret_read_only(gestionnaire_client, convention):
    response = gestionnaire_client.get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert convention.structure.nom in html and convention.structure.siret in html
    assert 'name="siret"' not in html and 'name="nom"' not in html
    assert 'name="adresse"' in html and 'name="telephone"' in html
    assert f'href="{URL}" aria-current="page"' in html  # the menu entry


def test_an_address_change_is_saved_and_kept_in_the_history(
    gestionnaire_client, gestionnaire, convention
):
    structure = convention.structure

    response = gestionnaire_client.post(
        URL, {**NEW_ADDRESS, "nom": "AUTRE NOM", "siret": "00000000000000"}, follow=True
    )

    structure.refresh_from_db()
    assert structure.adresse == "12 rue de la République"
    assert structure.ville == "Nogent-sur-Oise"
    assert structure.telephone == "03.44.11.22.33"
    assert structure.nom == convention.structure.nom  # never from this page
    assert structure.siret == convention.structure.siret
    [event] = StructureEvent.objects.filter(structure=structure)
    assert event.kind == StructureEvent.Kind.COORDONNEES_MODIFIED
    assert event.by == gestionnaire
    changes = event.details["changes"]
    assert changes["adresse"] == ["1 place de la Mairie", "12 rue de la République"]
    assert changes["telephone"] == ["03.44.00.00.00", "03.44.11.22.33"]
    html = response.content.decode()
    assert "Les 4 changements sont enregistrés" in html
    assert "Coordonnées modifiées" in html
    assert "Adresse : « 1 place de la Mairie » → « 12 rue de la République »" in html


def test_an_invalid_phone_is_refused_in_french_and_nothing_changes(gestionnaire_client, convention):
    response = gestionnaire_client.post(URL, {**NEW_ADDRESS, "telephone": "0344"})

    assert response.status_code == 200
    assert response.context["form"].errors["telephone"] == [
        "Saisissez un numéro de téléphone à 10 chiffres commençant par 0, "
        "par exemple 07.00.00.00.00."
    ]
    assert 'value="0344"' in response.content.decode()
    convention.structure.refresh_from_db()
    assert convention.structure.adresse == "1 place de la Mairie"
    assert not StructureEvent.objects.exists()


def test_saving_without_change_records_nothing(gestionnaire_client, convention):
    structure = convention.structure
    same = {
        "adresse": structure.adresse,
        "code_postal": structure.code_postal,
        "ville": structure.ville,
        "telephone": structure.telephone,
    }

    gestionnaire_client.post(URL, same)

    assert not StructureEvent.objects.exists()


def test_a_technicien_cannot_use_the_page(convention):
    technicien = TechnicienFactory(structure=convention.structure)
    client = Client()
    assert log_in(client, technicien.identifiant, TEST_PASSWORD)
    client.get(reverse("accounts:organisme_selection"))

    assert client.get(URL).status_code == 403
    assert client.post(URL, NEW_ADDRESS).status_code == 403
    convention.structure.refresh_from_db()
    assert convention.structure.adresse == "1 place de la Mairie"


@pytest.mark.parametrize("count", [3, 30])
def test_the_page_takes_the_same_number_of_queries_however_long_the_history(
    gestionnaire_client, gestionnaire, convention, count, django_assert_num_queries
):
    StructureEvent.objects.bulk_create(
        StructureEvent(
            structure=convention.structure,
            kind=StructureEvent.Kind.COORDONNEES_MODIFIED,
            by=gestionnaire,
            details={"changes": {"ville": ["Creil", f"Ville {number}"]}},
        )
        for number in range(count)
    )

    with django_assert_num_queries(QUERIES_OF_THE_PAGE):
        response = gestionnaire_client.get(URL)

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(count, HISTORY_PAGE_SIZE)
