"""The fund decides pré-inscriptions in the admin (SPEC §8): validation, refusal, scoping."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.models import Role, User
from inscriptions import services
from inscriptions.models import PreInscription, Statut
from organismes.models import StructureEvent
from tests.factories import (
    TEST_PASSWORD,
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    valid_siret,
)
from tests.helpers import EMAIL_UNAVAILABLE, give_second_factor, log_in

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:inscriptions_preinscription_changelist")


def make_preinscription(convention, **fields) -> PreInscription:
    data = {
        "organisme": convention.organisme,
        "reference_convention": convention.reference,
        "convention": convention,
        "structure_nom": "CCAS de Creil",
        "siret": convention.structure.siret,
        "adresse": "1 place de la Mairie",
        "code_postal": "60100",
        "ville": "Creil",
        "structure_telephone": "03.44.00.00.00",
        "civilite": "MME",
        "nom_patronymique": "PICHON",
        "prenom": "Maryse",
        "fonction": "Directrice",
        "telephone": "07.00.00.00.00",
        "email": "maryse.pichon@ccas-creil.example",
        "cgu_version": "1",
        **fields,
    }
    return PreInscription.objects.create(**data)


@pytest.fixture
def agent_client(agent) -> Client:
    client = Client()
    assert log_in(client, agent.identifiant, TEST_PASSWORD)
    give_second_factor(client, agent.identifiant)
    return client


@pytest.fixture
def preinscription(convention) -> PreInscription:
    return make_preinscription(convention)


def change_url(preinscription) -> str:
    return reverse("admin:inscriptions_preinscription_change", args=[preinscription.pk])


def act(client, action: str, *pks, **extra):
    return client.post(CHANGELIST, {"action": action, "_selected_action": pks, **extra})


def test_validation_creates_exactly_one_gestionnaire_who_receives_the_invitation(
    agent_client, agent, preinscription, convention, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = act(agent_client, "valider", preinscription.pk)

    assert response.status_code == 302
    [gestionnaire] = User.objects.filter(role=Role.GESTIONNAIRE)
    assert gestionnaire.structure == convention.structure
    assert gestionnaire.email == "maryse.pichon@ccas-creil.example"
    assert gestionnaire.identifiant == "m.pichon"
    assert gestionnaire.created_by == agent
    assert not gestionnaire.has_usable_password()
    preinscription.refresh_from_db()
    assert preinscription.statut == Statut.VALIDEE
    assert preinscription.decided_by == agent
    assert preinscription.decided_at is not None
    assert preinscription.gestionnaire == gestionnaire
    assert preinscription.structure == convention.structure
    [event] = StructureEvent.objects.filter(structure=convention.structure)
    assert event.kind == StructureEvent.Kind.PREINSCRIPTION_VALIDATED
    assert event.by == agent
    assert event.details["convention"] == convention.reference

    [invitation] = mail.outbox
    assert invitation.to == ["maryse.pichon@ccas-creil.example"]
    assert invitation.subject == "Bienvenue sur Espace Partenaires"
    assert "m.pichon" in invitation.body
    assert "/invitation/" in invitation.body

    page = agent_client.get(CHANGELIST, follow=True)
    assert "le compte gestionnaire de Maryse PICHON est créé" in page.content.decode()


def test_the_change_page_offers_valider_and_refuser_and_warns_of_a_siret_mismatch(
    agent_client, convention
):
    preinscription = make_preinscription(convention, siret=valid_siret(777))

    html = agent_client.get(change_url(preinscription)).content.decode()

    assert 'name="action" value="valider"' in html
    assert 'name="action" value="refuser"' in html
    assert "Le SIRET saisi n'est pas celui de la structure de la convention" in html
    list_html = agent_client.get(CHANGELIST).content.decode()
    assert "SIRET différent de celui de la structure de la convention" in list_html


def test_a_decided_request_has_no_buttons_and_cannot_be_decided_again(
    agent_client, preinscription, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        act(agent_client, "valider", preinscription.pk)

    assert 'value="valider"' not in agent_client.get(change_url(preinscription)).content.decode()
    response = act(agent_client, "refuser", preinscription.pk, apply="1", motif="Doublon")
    assert "a déjà été traitée" in agent_client.get(response["Location"]).content.decode()
    assert PreInscription.objects.get().statut == Statut.VALIDEE


def test_only_one_of_two_requests_for_one_convention_can_be_validated(
    agent_client, convention, django_capture_on_commit_callbacks
):
    first = make_preinscription(convention)
    second = make_preinscription(convention, email="autre@ccas-creil.example", prenom="Paul")

    with django_capture_on_commit_callbacks(execute=True):
        response = act(agent_client, "valider", first.pk, second.pk)

    assert User.objects.filter(role=Role.GESTIONNAIRE).count() == 1
    second.refresh_from_db()
    assert second.statut == Statut.EN_ATTENTE
    assert "est déjà utilisée" in agent_client.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1


def test_validation_refused_by_an_account_rule_leaves_the_request_pending(
    agent_client, preinscription, convention
):
    GestionnaireFactory(structure=StructureFactory(), email=preinscription.email)

    response = act(agent_client, "valider", preinscription.pk)

    assert escape(EMAIL_UNAVAILABLE) in agent_client.get(response["Location"]).content.decode()
    preinscription.refresh_from_db()
    assert preinscription.statut == Statut.EN_ATTENTE
    assert not User.objects.filter(role=Role.GESTIONNAIRE, structure=convention.structure)


def test_refusal_asks_for_a_reason_and_emails_it(
    agent_client, agent, preinscription, django_capture_on_commit_callbacks
):
    page = act(agent_client, "refuser", preinscription.pk)
    assert page.status_code == 200
    assert "Le motif est envoyé par e-mail" in page.content.decode()

    without_reason = act(agent_client, "refuser", preinscription.pk, apply="1", motif="")
    assert without_reason.status_code == 200
    assert without_reason.context["form"].errors["motif"] == ["Ce champ est obligatoire."]
    assert PreInscription.objects.get().statut == Statut.EN_ATTENTE

    motif = "Le SIRET ne correspond pas à la convention signée."
    with django_capture_on_commit_callbacks(execute=True):
        act(agent_client, "refuser", preinscription.pk, apply="1", motif=motif)

    preinscription.refresh_from_db()
    assert preinscription.statut == Statut.REFUSEE
    assert preinscription.motif_refus == motif
    assert preinscription.decided_by == agent
    assert not User.objects.filter(role=Role.GESTIONNAIRE).exists()
    [refusal] = mail.outbox
    assert refusal.to == ["maryse.pichon@ccas-creil.example"]
    assert refusal.subject == "Espace Partenaires : votre pré-inscription n'est pas validée"
    assert motif in refusal.body
    assert "http://testserver/pre-inscription/" in refusal.body or "/pre-inscription/" in (
        refusal.body
    )


def test_an_agent_of_another_organisme_cannot_see_or_act_on_the_request(
    preinscription, django_capture_on_commit_callbacks
):
    stranger = AgentFactory(organisme=OrganismeFactory(nom="CPAM GIRONDE"))
    client = Client()
    assert log_in(client, stranger.identifiant, TEST_PASSWORD)
    give_second_factor(client, stranger.identifiant)

    assert client.get(CHANGELIST).context["cl"].result_count == 0
    assert client.get(change_url(preinscription)).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "valider", preinscription.pk)
        act(client, "refuser", preinscription.pk, apply="1", motif="Non")

    preinscription.refresh_from_db()
    assert preinscription.statut == Statut.EN_ATTENTE
    assert not User.objects.filter(role=Role.GESTIONNAIRE).exists()
    assert mail.outbox == []


def test_pending_requests_come_first_the_oldest_first(agent_client, convention, organisme):
    decided = make_preinscription(convention, statut=Statut.REFUSEE, motif_refus="Non")
    older = make_preinscription(ConventionFactory(organisme=organisme))
    newer = make_preinscription(ConventionFactory(organisme=organisme))

    results = agent_client.get(CHANGELIST).context["cl"].result_list

    assert [p.pk for p in results] == [older.pk, newer.pk, decided.pk]


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_takes_the_same_number_of_queries_however_many_requests(
    agent_client, organisme, count, django_assert_num_queries
):
    for number in range(count):
        convention = ConventionFactory(organisme=organisme)
        make_preinscription(convention, siret=valid_siret(5000 + number))

    # session, user, the device of the second factor, 2 counts, 2 permission look-ups (the
    # actions' check), the page with its conventions and their structures (one join). The
    # session, written within the minute, is not written again (accounts/sessions.py).
    with django_assert_num_queries(8):
        response = agent_client.get(CHANGELIST)

    assert response.context["cl"].result_count == count


def test_services_refuse_to_validate_a_request_whose_convention_is_gone(agent, preinscription):
    PreInscription.objects.filter(pk=preinscription.pk).update(convention=None)
    preinscription.refresh_from_db()

    with pytest.raises(services.InscriptionError, match="n'existe plus"):
        services.validate_preinscription(by=agent, preinscription=preinscription)
