"""The main journeys, as a person does them in Chromium (issue 7)."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts import services
from accounts.models import Role, User
from conventions.models import Offre
from demandes import services as demandes_services
from demandes.models import Demande, Statut
from tests.browser import scenario
from tests.browser.conftest import heading, log_in, log_in_with_app, menu
from tests.factories import TEST_PASSWORD, TechnicienFactory
from tests.helpers import PDF

# Transactional: the live server's thread must see the test's data.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


MARYSE = {
    "civilite": "MME",
    "nom_patronymique": "PICHON",
    "prenom": "Maryse",
    "fonction": "Bénévole",
    "telephone": "07.00.00.00.00",
    "email": "maryse.pichon@restosducoeur.example",
}
DEMANDE = {
    "motif": "c2s",
    "civilite": "MME",
    "nom": "MARTIN",
    "prenom": "Jeanne",
    "date_naissance": datetime.date(1950, 3, 12),
    "departement": "33",
    "commentaire": "",
    "consentement": True,
    "urgent": False,
    "categorie_urgence": "",
}


@pytest.fixture
def people():
    return scenario.build()


def choose_organisme(page: Page, nom: str) -> None:
    heading(page, "Sélection de l'organisme")
    page.get_by_label("Organisme").select_option(label=nom)
    page.get_by_role("button", name="Valider").click()


def add_maryse(page: Page) -> None:
    """Fill in and send "Ajouter un compte technicien", typed as people type."""
    page.get_by_label("Civilité").select_option(label="Madame")
    page.get_by_label("Nom patronymique").fill("pichon")
    page.get_by_label("Prénom").fill("maryse")
    page.get_by_label("Fonction").fill("Bénévole")
    page.get_by_label("Téléphone").fill("0700000000")
    page.get_by_label("Adresse e-mail").fill("Maryse.Pichon@restosducoeur.example")
    page.get_by_role("button", name="Valider").click()


def test_a_gestionnaire_manages_a_technicien_account(page, people):
    log_in(page, "p.fort", TEST_PASSWORD)

    # The convention with CPAM LOT ET GARONNE ends in 20 days: red, with an asterisk and a legend.
    heading(page, "Sélection de l'organisme")
    ending = page.locator("option", has_text="CPAM LOT ET GARONNE")
    expect(ending).to_have_text("CPAM LOT ET GARONNE *")
    expect(page.get_by_text("convention se terminant dans moins de 30 jours")).to_be_visible()
    choose_organisme(page, "CPAM LOT ET GARONNE *")
    heading(page, "Votre convention se termine bientôt")
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_text("CPAM LOT ET GARONNE", exact=False).first).to_be_visible()

    menu(page, "Gestion des comptes")
    heading(page, "Gestion des comptes")
    page.get_by_role("link", name="Ajouter un technicien").click()
    heading(page, "Ajouter un compte technicien")
    add_maryse(page)

    heading(page, "Gestion des comptes")
    maryse = page.locator("li.account", has_text="m.pichon")
    expect(maryse).to_contain_text("Madame PICHON Maryse")
    expect(maryse).to_contain_text("07.00.00.00.00")
    expect(maryse).to_contain_text("maryse.pichon@restosducoeur.example")
    [invitation] = mail.outbox
    assert invitation.to == ["maryse.pichon@restosducoeur.example"]

    maryse.get_by_role("link", name="Modifier").click()
    heading(page, "Modifier un compte technicien")
    page.get_by_label("Nom usuel").fill("Durand")
    page.get_by_role("button", name="Valider").click()
    heading(page, "Gestion des comptes")
    maryse = page.locator("li.account", has_text="m.pichon")
    expect(maryse).to_contain_text("Madame DURAND Maryse")

    # Inactivation: the switch asks for confirmation in a dialog.
    maryse.get_by_role("switch", name="Compte de Maryse DURAND actif").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Êtes-vous sûr de vouloir inactiver ce compte ?")
    dialog.get_by_role("button", name="OUI").click()
    maryse = page.locator("li.account", has_text="m.pichon")
    expect(maryse).to_contain_text(re.compile("Compte inactif depuis le"))
    expect(maryse.get_by_role("switch")).to_have_attribute("aria-checked", "false")

    # Reactivation: the dialog's OUI leads to the reason (manual 000 §IV-2.3).
    maryse.get_by_role("switch").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Êtes-vous sûr de vouloir réactiver ce compte ?")
    dialog.get_by_role("button", name="OUI").click()
    dialog.get_by_label("Préciser le motif de réactivation").fill("Retour de congé maternité")
    dialog.get_by_role("button", name="VALIDER").click()
    maryse = page.locator("li.account", has_text="m.pichon")
    expect(maryse).to_contain_text("Compte actif")

    maryse.get_by_role("link", name="Historique").click()
    expect(page.get_by_role("main")).to_contain_text("Retour de congé maternité")
    account = User.objects.get(identifiant="m.pichon")
    assert account.is_active
    assert account.nom_usuel == "DURAND"


def invitation_link(email) -> str:
    return re.search(r"https?://\S+/invitation/\S+/", email.body).group(0)


def fill_demande(page: Page, *, nom: str) -> None:
    page.get_by_label("Civilité").select_option(label="Madame")
    page.get_by_label(re.compile(r"^Nom\b")).fill(nom)
    page.get_by_label("Prénom").fill("Jeanne")
    page.get_by_label("Date de naissance").fill("1950-03-12")
    page.get_by_label("Département de résidence").select_option("33")
    page.get_by_label("Motif de la demande").select_option(index=1)
    page.get_by_label("Commentaire").fill("Madame souhaite un rendez-vous au plus vite.")


def test_an_invited_technicien_submits_a_demande_with_an_attachment(page, people, tmp_path):
    services.create_partner_account(
        by=people.gestionnaire,
        role=Role.TECHNICIEN,
        structure=people.structure,
        organisme=people.gironde,
        data=MARYSE,
    )
    [email] = mail.outbox
    assert email.to == ["maryse.pichon@restosducoeur.example"]

    page.goto(invitation_link(email))
    heading(page, "Créer mon mot de passe")
    page.get_by_label(re.compile("^Nouveau mot de passe")).fill("Une-Phrase-De-Passe-2026")
    page.get_by_label("Confirmation du nouveau mot de passe").fill("Une-Phrase-De-Passe-2026")
    page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    heading(page, "Connexion à Espace Partenaires")
    log_in(page, "m.pichon", "Une-Phrase-De-Passe-2026")

    heading(page, "Conditions générales d'utilisation")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Accepter et continuer").click()
    choose_organisme(page, "CPAM GIRONDE")

    menu(page, "Nouvelle demande")
    page.get_by_role("link", name="Demander un rendez-vous pour un assuré").click()
    heading(page, "Demander un rendez-vous pour un assuré")
    fill_demande(page, nom="Martin")
    attestation = tmp_path / "attestation.pdf"
    attestation.write_bytes(PDF)
    page.get_by_label("Pièces jointes").set_input_files(attestation)
    page.get_by_role("checkbox", name=re.compile("a donné son accord")).check()
    page.get_by_role("button", name="Envoyer la demande").click()

    heading(page, "Demande EP-")
    reference = Demande.objects.get().reference
    expect(page.get_by_role("main")).to_contain_text("attestation.pdf")
    menu(page, "Mes demandes")
    heading(page, "Mes demandes")
    row = page.get_by_role("row", name=re.compile(reference))
    expect(row).to_contain_text("MARTIN")
    row.get_by_role("link", name=reference).click()
    heading(page, f"Demande {reference}")


def test_the_fund_processes_a_demande_and_the_technicien_answers(new_page, people):
    technicien = TechnicienFactory(
        structure=people.structure, identifiant="m.pichon", prenom="Maryse"
    )
    demande = demandes_services.create_demande(
        by=technicien,
        convention=people.convention,
        offre=Offre.objects.get(code="rendez-vous"),
        data=DEMANDE,
    )
    agent_page, technicien_page = new_page(), new_page()

    log_in_with_app(agent_page, "agent.gironde", TEST_PASSWORD)
    agent_page.locator("tr.model-demande").get_by_role("link", name="Demandes").click()
    agent_page.get_by_role("link", name=demande.reference).click()
    agent_page.get_by_role("button", name="Prendre en charge").click()
    expect(agent_page.locator(".messagelist")).to_contain_text("est prise en charge")
    agent_page.get_by_role("button", name="Demander un complément").click()
    agent_page.get_by_label("Complément demandé au partenaire").fill(
        "Merci de joindre l'attestation de droits."
    )
    agent_page.get_by_role("button", name="Demander le complément").click()
    expect(agent_page.locator(".messagelist")).to_contain_text("Un complément est demandé")

    log_in(technicien_page, "m.pichon", TEST_PASSWORD)
    choose_organisme(technicien_page, "CPAM GIRONDE")
    menu(technicien_page, "Mes demandes")
    technicien_page.get_by_role("link", name=demande.reference).click()
    expect(technicien_page.get_by_role("main")).to_contain_text(
        "Merci de joindre l'attestation de droits."
    )
    technicien_page.get_by_label("Votre réponse").fill("Attestation envoyée par courrier.")
    technicien_page.get_by_role("button", name="Envoyer le complément").click()
    expect(technicien_page.get_by_role("main")).to_contain_text("Attestation envoyée par courrier.")

    # Issue 18, item 3: the thread, an agent's message expecting an answer, the partner's answer.
    agent_page.reload()
    expect(agent_page.get_by_role("main")).to_contain_text("Attestation envoyée par courrier.")
    agent_page.get_by_label("Message au partenaire").fill("A-t-elle un médecin traitant ?")
    agent_page.get_by_label("Réponse attendue").check()
    agent_page.get_by_role("button", name="Envoyer le message").click()
    expect(agent_page.locator(".messagelist")).to_contain_text("Votre message sur")

    technicien_page.reload()
    main = technicien_page.get_by_role("main")
    expect(main).to_contain_text("En attente de votre réponse")
    expect(main).to_contain_text("A-t-elle un médecin traitant ?")
    technicien_page.get_by_label("Votre message").fill("Oui, le docteur de la maison de santé.")
    technicien_page.get_by_role("button", name="Envoyer le message").click()
    expect(technicien_page.locator(".messages, [role=status], main").first).to_contain_text(
        "Votre message est envoyé"
    )
    expect(main).not_to_contain_text("En attente de votre réponse")

    agent_page.reload()
    expect(agent_page.get_by_role("main")).to_contain_text("le docteur de la maison de santé")
    agent_page.get_by_role("button", name="Clôturer").click()
    agent_page.get_by_label(re.compile("^Réponse")).fill("Rendez-vous fixé le 3 décembre à 9 h.")
    agent_page.get_by_role("button", name="Clôturer la demande").click()
    expect(agent_page.locator(".messagelist")).to_contain_text("est clôturée")

    technicien_page.reload()
    main = technicien_page.get_by_role("main")
    expect(main.locator(".statut")).to_have_text("Clôturée")
    expect(main).to_contain_text("Rendez-vous fixé le 3 décembre à 9 h.")
    demande.refresh_from_db()
    assert demande.statut == Statut.CLOTUREE


def test_a_locked_out_login_as_a_person_sees_it(page, people, settings):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(page, "p.fort", "pas-le-bon-mot-de-passe")
    heading(page, "Connexion temporairement bloquée")
    # Even the right password is refused until the lockout ends.
    log_in(page, "p.fort", TEST_PASSWORD)
    heading(page, "Connexion temporairement bloquée")
    expect(page.get_by_role("main")).to_contain_text("30 minutes")


def test_an_address_over_its_log_in_limit_as_a_person_sees_it(page, people, settings, accessible):
    settings.LOGIN_CLIENT_RATE = "2/h"
    for identifiant in ("x.inconnu", "y.inconnu"):
        log_in(page, identifiant, "pas-le-bon-mot-de-passe")
    # The address is refused, even with the right password of an identifier not locked.
    log_in(page, "p.fort", TEST_PASSWORD)
    heading(page, "Connexion temporairement suspendue")
    expect(page.get_by_role("main")).to_contain_text("Ce blocage ne concerne pas votre identifiant")
    accessible(page, "connexion suspendue pour cette adresse")


def test_an_expired_password_as_a_person_sees_it(page, people):
    User.objects.filter(pk=people.gestionnaire.pk).update(
        password_changed_at=timezone.now() - datetime.timedelta(days=400)
    )
    log_in(page, "p.fort", TEST_PASSWORD)
    heading(page, "Changer mon mot de passe")
    expect(page.get_by_role("main")).to_contain_text("doit être renouvelé (il a plus de 365 jours)")
    page.goto("/comptes/")  # any other page leads back here
    heading(page, "Changer mon mot de passe")
    page.get_by_label("Ancien mot de passe").fill(TEST_PASSWORD)
    page.get_by_label(re.compile("^Nouveau mot de passe")).fill("Une-Phrase-De-Passe-2026")
    page.get_by_label("Confirmation du nouveau mot de passe").fill("Une-Phrase-De-Passe-2026")
    page.get_by_role("button", name="Enregistrer").click()
    heading(page, "Sélection de l'organisme")
