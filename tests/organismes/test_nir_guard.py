"""The NIR guard on a structure (issue 16, item 1): its address and city typed by its
gestionnaire on "Ma structure", the motif of a suspension typed by the fund. The page says why
next to the field, keeps what was typed, and nothing is saved."""

import pytest
from django.urls import reverse

from organismes.models import StructureEvent, StructurePartenaire
from tests.accounts.test_admin_actions import structure_with_convention_data
from tests.factories import AgentFactory, ConventionFactory, GestionnaireFactory
from tests.helpers import assert_nir_refused_next_to, log_in_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def convention():
    return ConventionFactory()


@pytest.mark.parametrize(
    ("field", "value"),
    [("adresse", "1_85_05_78_006_084_36 rue de la Paix"), ("ville", "Creil 185/057/800/608/436")],
)
def test_an_address_or_city_holding_a_nir_is_refused_on_ma_structure(
    client, convention, field, value
):
    client.force_login(GestionnaireFactory(structure=convention.structure))
    client.get(reverse("accounts:organisme_selection"))
    data = {
        "adresse": "12 rue de la République",
        "code_postal": "60180",
        "ville": "Nogent-sur-Oise",
        "telephone": "03 44 11 22 33",
    }

    response = client.post("/ma-structure/", {**data, field: value})

    assert_nir_refused_next_to(response, field)
    structure = convention.structure
    structure.refresh_from_db()
    assert (structure.adresse, structure.ville) == ("1 place de la Mairie", "Creil")
    assert not StructureEvent.objects.exists()


def test_a_suspension_motif_holding_a_nir_is_refused(client, convention):
    log_in_verified(client, AgentFactory(organisme=convention.organisme))
    structure = convention.structure
    action = {"action": "suspendre", "_selected_action": [structure.pk], "index": 0}

    response = client.post(
        reverse("admin:organismes_structurepartenaire_changelist"),
        {**action, "apply": "Suspendre", "motif": "Fraude sur le NIR 1  85  05  78  006  084"},
    )

    assert_nir_refused_next_to(response, "motif")
    structure.refresh_from_db()
    assert structure.suspended_at is None
    assert structure.motif_suspension == ""


def test_an_agent_cannot_create_a_structure_whose_name_or_address_holds_a_nir(client, convention):
    log_in_verified(client, AgentFactory(organisme=convention.organisme))

    response = client.post(
        reverse("admin:organismes_structurepartenaire_add"),
        structure_with_convention_data(nom="ESCALE 185057800608436", adresse="1.85.05.78.006.084"),
    )

    assert_nir_refused_next_to(response, "nom")
    assert_nir_refused_next_to(response, "adresse")
    assert not StructurePartenaire.objects.filter(nom__startswith="ESCALE").exists()
