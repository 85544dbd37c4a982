"""The NIR guard on the public pages and their decision by the fund (issue 16, item 1): every
field of a pré-inscription that is not a name, a number checked by its own rule or an address,
the contact page's name and reference, the motif of a refusal. The page says why next to the
field, keeps what was typed, and nothing is saved or sent."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from inscriptions.models import MessageContact, PreInscription, Statut
from tests.factories import TEST_PASSWORD, PreInscriptionFactory
from tests.helpers import assert_nir_refused_next_to, give_second_factor, log_in

from .conftest import solve_anti_robot

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("structure_nom", "CCAS 185057800608436"),
        ("adresse", "1 place de la Mairie 1-85-05-78-006-084-36"),
        ("ville", "Creil \u200b1850578006084"),
        ("fonction", "1/85/05/78/006/084"),
        ("reference_convention", "１８５０５７８００６０８４３６"),
    ],
)
def test_a_preinscription_holding_a_nir_is_refused(client, form_data, field, value):
    payload = {**form_data, field: value, "captcha": solve_anti_robot(client)}

    response = client.post("/pre-inscription/", payload)

    assert_nir_refused_next_to(response, field)
    assert not PreInscription.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("nom", "Maryse Pichon 185 057 800 608 436"), ("reference_convention", "1.85.05.78.006.084")],
)
def test_a_contact_message_whose_name_or_reference_holds_a_nir_is_refused(
    client, message_data, field, value
):
    data = {**message_data, field: value, "captcha": solve_anti_robot(client)}

    response = client.post("/contact/", data)

    assert_nir_refused_next_to(response, field)
    assert not MessageContact.objects.exists()
    assert mail.outbox == []


def test_a_refusal_motif_holding_a_nir_is_refused(agent, convention):
    client = Client()
    assert log_in(client, agent.identifiant, TEST_PASSWORD)
    give_second_factor(client, agent.identifiant)
    preinscription = PreInscriptionFactory(convention=convention)

    response = client.post(
        reverse("admin:inscriptions_preinscription_changelist"),
        {
            "action": "refuser",
            "_selected_action": [preinscription.pk],
            "apply": "1",
            "motif": "Le NIR 2 85 05 78 006 084 36 ne correspond pas.",
        },
    )

    assert_nir_refused_next_to(response, "motif")
    preinscription.refresh_from_db()
    assert preinscription.statut == Statut.EN_ATTENTE
    assert preinscription.motif_refus == ""
    assert mail.outbox == []
