"""The home page of each role shows what awaits the person (issue 19, item 6; SPEC §10 "Help"):
the technicien their complements, the fund's messages, their recent demandes and the offers; the
gestionnaire the quota's use, the invitations not accepted yet (to resend) and the next review;
the agent, on the admin's index, the counts of their work queue, each a link to the list so
filtered. Scoped to the person's structure or organisme, in as many queries at any size."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from accounts import services as account_services
from accounts.models import HabilitationReview, Invitation, Role
from demandes import services
from tests.demandes.test_portal import logged_in, page_text
from tests.factories import (
    AgentFactory,
    GestionnaireFactory,
    OrganismeFactory,
    TechnicienFactory,
)
from tests.helpers import log_in_verified, make_demande, with_all_offres

pytestmark = pytest.mark.django_db

HOME = reverse("home")
ADMIN_INDEX = reverse("admin:index")


@pytest.fixture
def convention():
    return with_all_offres(organisme=OrganismeFactory(nom="CPAM DE L'OISE"))


@pytest.fixture
def agent(convention):
    return AgentFactory(organisme=convention.organisme)


@pytest.fixture
def technicien(convention):
    return TechnicienFactory(structure=convention.structure, prenom="Maryse")


@pytest.fixture
def colleague(convention):
    return TechnicienFactory(structure=convention.structure, prenom="Valérie")


def complement(agent, demande) -> None:
    services.prendre_en_charge(by=agent, demande=demande)
    services.demander_complement(by=agent, demande=demande, message="L'attestation, svp.")


def question(agent, demande) -> None:
    services.ecrire_message(by=agent, demande=demande, texte="Quel jour ?", reponse_attendue=True)


def news(agent, demande) -> None:
    services.ecrire_message(by=agent, demande=demande, texte="Rendez-vous pris.")


# --- Technicien -----------------------------------------------------------------------------


def test_the_technicien_sees_complements_messages_recent_demandes_and_offers(
    technicien, colleague, agent, convention
):
    to_complete = make_demande(colleague, convention, nom="COMPLEMENT")
    complement(agent, to_complete)
    asked = make_demande(technicien, convention, nom="QUESTION")
    question(agent, asked)
    unread = make_demande(technicien, convention, nom="NOUVELLE")
    news(agent, unread)
    quiet = make_demande(technicien, convention, nom="CALME")
    # Another structure's complement, with the same organisme: never shown.
    elsewhere = with_all_offres(organisme=convention.organisme)
    complement(agent, make_demande(TechnicienFactory(structure=elsewhere.structure), elsewhere))

    response = logged_in(technicien).get(HOME)
    text = page_text(response)

    complements = text.split("Compléments à fournir")[1].split("Messages de")[0]
    assert "1 demande attend un complément de votre part." in complements
    assert to_complete.reference in complements and "COMPLEMENT Jeanne" in complements
    messages = text.split("Messages de CPAM DE L'OISE")[1].split("Vos dernières demandes")[0]
    assert "2 demandes ont un message non lu ou qui attend votre réponse." in messages
    assert asked.reference in messages and "en attente de votre réponse depuis" in messages
    assert unread.reference in messages and "message non lu" in messages
    assert quiet.reference not in messages
    recent = text.split("Vos dernières demandes")[1].split("Nouvelle demande")[0]
    # Their own, newest first; not the colleague's.
    assert re.findall(r"EP-\d{4}-\d+", recent) == [
        quiet.reference,
        unread.reference,
        asked.reference,
    ]
    html = response.text
    assert f'href="{reverse("demandes:create", args=["rendez-vous"])}"' in html
    assert f'href="{reverse("demandes:detail", args=[to_complete.pk])}"' in html


def test_reading_the_funds_message_takes_the_demande_off_the_home(technicien, agent, convention):
    demande = make_demande(technicien, convention)
    news(agent, demande)
    client = logged_in(technicien)

    client.get(reverse("demandes:detail", args=[demande.pk]))

    text = page_text(client.get(HOME))
    messages = text.split("Messages de CPAM DE L'OISE")[1].split("Vos dernières demandes")[0]
    assert demande.reference not in messages
    assert "Aucun message en attente." in messages


def test_an_empty_technicien_home_says_what_comes_next(technicien):
    text = page_text(logged_in(technicien).get(HOME))

    assert "Aucun complément à fournir." in text
    assert "Aucun message en attente." in text
    assert "Vous n'avez pas encore envoyé de demande : choisissez une offre ci-dessous." in text
    assert "Demander un rendez-vous pour un assuré" in text


def test_before_the_convention_starts_the_technicien_is_told_when_they_can_send():
    convention = with_all_offres(date_debut=datetime.date.today() + datetime.timedelta(days=10))
    technicien = TechnicienFactory(structure=convention.structure)

    text = page_text(logged_in(technicien).get(HOME))

    assert "Vous pourrez déposer des demandes à partir du" in text
    assert "choisissez une offre" not in text


@pytest.mark.parametrize("count", [1, 8])
def test_the_technicien_home_costs_the_same_queries_at_any_size(
    technicien, agent, convention, count, django_assert_num_queries
):
    for number in range(count):
        complement(agent, make_demande(technicien, convention, nom=f"C{number}"))
        question(agent, make_demande(technicien, convention, nom=f"Q{number}"))
        news(agent, make_demande(technicien, convention, nom=f"N{number}"))
    client = logged_in(technicien)
    client.get(HOME)

    # The session, then the user with its structure and conventions (accounts/login_chain.py),
    # the counts, complements, messages, recent demandes and the convention's offers.
    with django_assert_num_queries(7):
        response = client.get(HOME)

    assert response.context["complements_count"] == count
    assert len(response.context["complements"]) == min(count, 5)


# --- Gestionnaire ---------------------------------------------------------------------------


def invite_technicien(gestionnaire, convention, nom: str):
    return account_services.create_partner_account(
        by=gestionnaire,
        role=Role.TECHNICIEN,
        structure=convention.structure,
        organisme=convention.organisme,
        data={
            "civilite": "MME",
            "nom_patronymique": nom,
            "prenom": "Sophie",
            "fonction": "Bénévole",
            "telephone": "06.11.22.33.44",
            "email": f"{nom.lower()}@ccas.example",
        },
    )


@pytest.fixture
def gestionnaire(convention):
    return GestionnaireFactory(structure=convention.structure)


def test_the_gestionnaire_sees_the_invitations_not_accepted_and_resends_one(
    gestionnaire, technicien, convention
):
    garnier = invite_technicien(gestionnaire, convention, "GARNIER")
    # Another structure's pending invitation: never shown.
    elsewhere = with_all_offres(organisme=convention.organisme)
    invite_technicien(GestionnaireFactory(structure=elsewhere.structure), elsewhere, "AUTRE")
    client = logged_in(gestionnaire)

    response = client.get(HOME)
    text = page_text(response)

    invitations = text.split("Invitations en attente")[1]
    assert "1 technicien n'a pas encore créé son mot de passe" in invitations
    assert "Madame GARNIER Sophie" in invitations and "garnier@ccas.example" in invitations
    assert "AUTRE" not in invitations and "Maryse" not in invitations
    action = reverse("accounts:technicien_resend_invitation", args=[garnier.pk])
    (form,) = re.findall(rf'<form method="post" action="{action}">.*?</form>', response.text, re.S)
    assert 'name="csrfmiddlewaretoken"' in form and "Renvoyer l&#x27;invitation" not in form
    assert "Renvoyer l'invitation" in form

    old = Invitation.objects.get(account=garnier)
    resent = client.post(action, {"depuis": "accueil"}, follow=True)

    assert resent.redirect_chain == [(HOME, 302)]
    assert "Une nouvelle invitation est envoyée à garnier@ccas.example" in page_text(resent)
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert Invitation.objects.pending().filter(account=garnier).count() == 1


def test_the_resend_from_the_list_still_returns_to_the_list(gestionnaire, convention):
    garnier = invite_technicien(gestionnaire, convention, "GARNIER")
    client = logged_in(gestionnaire)

    response = client.post(reverse("accounts:technicien_resend_invitation", args=[garnier.pk]))

    assert response.url == reverse("accounts:techniciens")


def test_the_gestionnaire_sees_the_quota_use_and_the_next_review(gestionnaire, technicien):
    structure = technicien.structure
    with time_machine.travel(datetime.datetime(2026, 5, 4, 10, tzinfo=datetime.UTC)):
        HabilitationReview.objects.create(structure=structure, by=gestionnaire)
    with time_machine.travel(datetime.datetime(2026, 6, 1, 10, tzinfo=datetime.UTC)):
        text = page_text(logged_in(gestionnaire).get(HOME))

    assert "1 compte technicien actif sur 5 autorisés par la convention." in text
    assert "Prochaine revue à faire à partir du 4 novembre 2026" in text
    assert "Aucune invitation en attente" in text


def test_a_gestionnaire_without_technicien_is_told_to_create_one(gestionnaire):
    text = page_text(logged_in(gestionnaire).get(HOME))

    assert "Aucun compte technicien actif sur 5 autorisés par la convention." in text
    assert "Créez le premier compte avec « Ajouter un technicien »" in text


@pytest.mark.parametrize("count", [1, 4])  # the convention allows 5 techniciens
def test_the_gestionnaire_home_costs_the_same_queries_at_any_size(
    gestionnaire, convention, count, django_assert_num_queries
):
    for number in range(count):
        invite_technicien(gestionnaire, convention, f"NOM{chr(65 + number)}")
    client = logged_in(gestionnaire)
    client.get(HOME)

    # The session, the user with its structure and conventions (one statement), active count,
    # quota, invitations, review due, next review.
    with django_assert_num_queries(7):
        response = client.get(HOME)

    assert len(response.context["invitations"]) == count


# --- Agent de caisse: the admin's index -----------------------------------------------------


def test_the_agents_index_counts_their_queue_and_links_to_the_list_so_filtered(
    agent, technicien, convention, client
):
    colleague = AgentFactory(organisme=convention.organisme)
    mine = make_demande(technicien, convention, nom="MIENNE")
    services.prendre_en_charge(by=agent, demande=mine)
    closed = make_demande(technicien, convention, nom="CLOSE")
    services.prendre_en_charge(by=agent, demande=closed)
    services.cloturer(by=agent, demande=closed, reponse="Fait.")
    services.prendre_en_charge(by=colleague, demande=make_demande(technicien, convention))
    make_demande(technicien, convention, nom="LIBRE1")
    make_demande(technicien, convention, nom="LIBRE2")
    waiting = make_demande(technicien, convention, nom="ATTENTE")
    complement(agent, waiting)
    services.ecrire_message(by=technicien, demande=mine, texte="Voici le justificatif.")
    # Another organisme's: never counted.
    theirs = with_all_offres()
    make_demande(TechnicienFactory(structure=theirs.structure), theirs)
    log_in_verified(client, agent)

    text = page_text(client.get(ADMIN_INDEX))

    assert "Ma file de travail" in text
    assert "2 demandes vous sont attribuées" in text  # MIENNE and ATTENTE, open
    assert "2 demandes ne sont attribuées à personne" in text
    assert "Aucune demande en retard" in text
    assert "1 demande attend la réponse du partenaire" in text
    assert "1 demande a des messages du partenaire non lus" in text
    # Each count is the list behind its link.
    html = client.get(ADMIN_INDEX).text
    links = re.findall(r'<li><a href="(/admin/demandes/demande/\?[^"]+)">(\d+|Aucun)', html)
    assert len(links) == 5
    for link, count in links:
        count = 0 if count == "Aucun" else count
        listed = client.get(link.replace("&amp;", "&"))
        assert listed.status_code == 200
        assert len(listed.context["cl"].result_list) == int(count), link


def test_an_agent_with_an_empty_queue_is_told_where_new_demandes_appear(agent, client):
    log_in_verified(client, agent)

    text = page_text(client.get(ADMIN_INDEX))

    assert "Aucune demande ne vous est attribuée" in text
    assert "les nouvelles demandes de votre organisme apparaîtront dans « Non attribuées »" in text


@pytest.mark.parametrize("count", [1, 10])
def test_the_agents_index_costs_the_same_queries_at_any_size(
    agent, technicien, convention, client, count, django_assert_num_queries
):
    for number in range(count):
        demande = make_demande(technicien, convention, nom=f"NOM{number}")
        services.prendre_en_charge(by=agent, demande=demande)
        services.ecrire_message(by=technicien, demande=demande, texte="Un message.")
    log_in_verified(client, agent)
    client.get(ADMIN_INDEX)

    with django_assert_num_queries(13):
        response = client.get(ADMIN_INDEX)

    assert f"{count} demande" in page_text(response)
