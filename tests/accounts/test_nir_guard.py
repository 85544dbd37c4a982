"""The NIR guard on what is typed about accounts (issue 16, item 1): a technicien's fonction,
the reactivation motif in the portal and in the admin's action. The page says why next to the
field, keeps what was typed, and nothing is saved or sent."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEvent, Role, User
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    TechnicienFactory,
)
from tests.helpers import assert_nir_refused_next_to, log_in_verified

pytestmark = pytest.mark.django_db

NIR = "1-85-05-78-006-084-36"
PERSON = {
    "civilite": "M",
    "nom_patronymique": "CHAUSSON",
    "nom_usuel": "",
    "prenom": "Victor",
    "fonction": "Bénévole",
    "telephone": "07.00.00.00.00",
    "email": "victor.chausson@assurance-maladie.fr",
}


@pytest.fixture
def convention():
    return ConventionFactory()


@pytest.fixture
def gestionnaire_client(client, convention):
    client.force_login(GestionnaireFactory(structure=convention.structure))
    client.get(reverse("accounts:organisme_selection"))
    return client


@pytest.fixture
def agent_client(client, convention):
    log_in_verified(client, AgentFactory(organisme=convention.organisme))
    return client


@pytest.fixture
def inactive_technicien(convention):
    TechnicienFactory(structure=convention.structure)
    return TechnicienFactory(
        structure=convention.structure, is_active=False, inactivated_at=timezone.now()
    )


@pytest.mark.parametrize(
    "fonction", ["Méd. 185057800608436", "185\u00a0057\u00a0800\u00a0608\u00a0436"]
)
def test_a_technicien_whose_fonction_holds_a_nir_is_not_created(gestionnaire_client, fonction):
    response = gestionnaire_client.post(
        reverse("accounts:technicien_create"), {**PERSON, "fonction": fonction}
    )

    assert_nir_refused_next_to(response, "fonction")
    assert not User.objects.filter(role=Role.TECHNICIEN).exists()
    assert mail.outbox == []


def test_an_agent_cannot_create_a_gestionnaire_whose_fonction_holds_a_nir(agent_client, convention):
    response = agent_client.post(
        reverse("admin:accounts_partneraccount_add"),
        {
            "structure": convention.structure.pk,
            **PERSON,
            "fonction": "NIR185057800608436",
            "_save": "Enregistrer",
        },
    )

    assert_nir_refused_next_to(response, "fonction")
    assert not User.objects.filter(role=Role.GESTIONNAIRE).exists()


def test_a_reactivation_motif_holding_a_nir_is_refused_in_the_portal(
    gestionnaire_client, inactive_technicien, django_capture_on_commit_callbacks
):
    url = reverse("accounts:technicien_reactivate", args=[inactive_technicien.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = gestionnaire_client.post(url, {"motif": f"Retour de congé, NIR {NIR}"})

    assert_nir_refused_next_to(response, "motif")
    inactive_technicien.refresh_from_db()
    assert not inactive_technicien.is_active
    assert inactive_technicien.reactivation_reason == ""
    assert not AccountEvent.objects.filter(kind=AccountEvent.Kind.REACTIVATED).exists()
    assert mail.outbox == []


def test_a_reactivation_motif_holding_a_nir_is_refused_in_the_admin_action(
    agent_client, convention, django_capture_on_commit_callbacks
):
    GestionnaireFactory(structure=convention.structure)
    gestionnaire = GestionnaireFactory(
        structure=convention.structure, is_active=False, inactivated_at=timezone.now()
    )
    action = {"action": "reactiver", "_selected_action": [gestionnaire.pk], "index": 0}

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            reverse("admin:accounts_partneraccount_changelist"),
            {**action, "apply": "Réactiver", "motif": "1 85 05 78 006 084\u202f36"},
        )

    assert_nir_refused_next_to(response, "motif")
    gestionnaire.refresh_from_db()
    assert not gestionnaire.is_active
    assert gestionnaire.reactivation_reason == ""
    assert mail.outbox == []
