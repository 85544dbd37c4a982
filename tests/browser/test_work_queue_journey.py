"""Issue 18's journey in Chromium, both sides at once: a technicien sends an urgent demande; the
agent's e-mail arrives at once with a working link; the agent takes the demande and writes a
message expecting an answer; the technicien sees "En attente de votre réponse" and answers with
an attachment; the agent sees the answer unread in the work queue and closes the demande.
axe-core finds nothing on any page of the journey, the admin's included."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from demandes.models import Demande, Statut
from tests.browser import scenario
from tests.browser.conftest import give_app_code, heading, log_in, menu
from tests.browser.test_journeys import choose_organisme, fill_demande
from tests.factories import TEST_PASSWORD, TechnicienFactory
from tests.helpers import PDF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_urgent_demande_from_sending_to_closing(new_page, accessible, tmp_path):
    people = scenario.build()
    TechnicienFactory(structure=people.structure, identifiant="m.pichon", prenom="Maryse")
    technicien_page, agent_page = new_page(), new_page()

    # The technicien sends an urgent demande.
    log_in(technicien_page, "m.pichon", TEST_PASSWORD)
    choose_organisme(technicien_page, "CPAM GIRONDE")
    menu(technicien_page, "Nouvelle demande")
    technicien_page.get_by_role("link", name="Demander un rendez-vous pour un assuré").click()
    fill_demande(technicien_page, nom="Martin")
    technicien_page.get_by_label("Situation urgente ou bloquée").check()
    technicien_page.get_by_label("Catégorie d'urgence").select_option(index=1)
    technicien_page.get_by_role("checkbox", name=re.compile("a donné son accord")).check()
    accessible(technicien_page, "nouvelle demande urgente")
    mail.outbox.clear()
    technicien_page.get_by_role("button", name="Envoyer la demande").click()
    heading(technicien_page, "Demande EP-")
    demande = Demande.objects.get()
    assert demande.urgent

    # The agent's e-mail arrives at once, with a link to the demande in the admin.
    # (urgent demandes reach every agent at once by default, and the referent's address too)
    [email] = [m for m in mail.outbox if m.to == [people.agent.email]]
    assert people.gironde.email_referent in [m.to[0] for m in mail.outbox]
    assert "urgente" in email.subject
    link = re.search(r"https?://\S+/admin/demandes/demande/\d+/change/", email.body).group(0)
    agent_page.goto(link)
    agent_page.get_by_label(re.compile("Identifiant")).fill("agent.gironde")
    agent_page.get_by_label(re.compile("Mot de passe")).fill(TEST_PASSWORD)
    agent_page.get_by_role("button", name=re.compile("Se connecter|Connexion")).click()
    give_app_code(agent_page, "agent.gironde")
    expect(agent_page.get_by_role("main")).to_contain_text(demande.reference)
    accessible(agent_page, "demande urgente dans l'administration")

    # The agent takes it and writes a message that expects an answer.
    agent_page.get_by_role("button", name="Prendre en charge").click()
    expect(agent_page.locator(".messagelist")).to_contain_text("est prise en charge")
    question = "L'assurée a-t-elle un médecin traitant ?"
    agent_page.get_by_label("Message au partenaire").fill(question)
    agent_page.get_by_label("Réponse attendue").check()
    agent_page.get_by_role("button", name="Envoyer le message").click()
    expect(agent_page.locator(".messagelist")).to_contain_text("Votre message sur")
    accessible(agent_page, "demande prise en charge, message envoyé")

    # The technicien sees that an answer is awaited, and answers with an attachment.
    menu(technicien_page, "Mes demandes")
    expect(technicien_page.get_by_role("main")).to_contain_text("En attente de votre réponse")
    accessible(technicien_page, "mes demandes, réponse attendue")
    technicien_page.get_by_role("link", name=demande.reference).click()
    main = technicien_page.get_by_role("main")
    expect(main).to_contain_text("En attente de votre réponse")
    expect(main).to_contain_text(question)
    expect(main).to_contain_text("Prise en charge par votre organisme.")
    accessible(technicien_page, "demande, réponse attendue")
    technicien_page.get_by_label("Votre message").fill("Oui : voici l'attestation du médecin.")
    attestation = tmp_path / "attestation.pdf"
    attestation.write_bytes(PDF)
    main.get_by_label("Pièces jointes").set_input_files(attestation)
    technicien_page.get_by_role("button", name="Envoyer le message").click()
    expect(main).not_to_contain_text("En attente de votre réponse")
    expect(main).to_contain_text("attestation.pdf")

    # The agent sees it unread in the work queue, reads it and closes the demande.
    agent_page.goto("/admin/demandes/demande/")
    row = agent_page.get_by_role("row", name=re.compile(demande.reference))
    expect(row).to_contain_text("1 non lu")
    accessible(agent_page, "demandes à traiter, un message non lu")
    row.get_by_role("link", name=demande.reference).click()
    expect(agent_page.get_by_role("main")).to_contain_text("voici l'attestation du médecin")
    agent_page.get_by_role("button", name="Clôturer").click()
    agent_page.get_by_label(re.compile("^Réponse")).fill("Rendez-vous fixé le 3 décembre à 9 h.")
    accessible(agent_page, "clôture de la demande")
    agent_page.get_by_role("button", name="Clôturer la demande").click()
    expect(agent_page.locator(".messagelist")).to_contain_text("est clôturée")

    demande.refresh_from_db()
    assert demande.statut == Statut.CLOTUREE
    assert demande.assigned_to == people.agent
