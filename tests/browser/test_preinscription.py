"""Pré-inscription in a real browser (issue 9): the partner fills in the public form and passes
ALTCHA's proof of work, an agent de caisse of the organisme validates it in the admin, and the
new gestionnaire receives the invitation; axe-core finds nothing on the new pages (their other
states are in pages.py)."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import Role, User
from inscriptions.models import PreInscription, Statut
from tests.browser import scenario
from tests.browser.conftest import heading, log_in_with_app
from tests.factories import TEST_PASSWORD, ConventionFactory, StructureFactory, valid_siret

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIRET = valid_siret(21_330_281)


@pytest.fixture
def people():
    people = scenario.build()
    # The fund has entered the convention; the structure has no account yet.
    ConventionFactory(
        organisme=people.gironde,
        structure=StructureFactory(nom="CCAS DE MERIGNAC", siret=SIRET),
        reference="GIR-2026-042",
    )
    return people


def pass_anti_robot(page: Page) -> None:
    page.get_by_text("Je ne suis pas un robot", exact=True).click()  # its label, as a person does
    expect(page.locator("altcha-widget [data-state]")).to_have_attribute(
        "data-state", "verified", timeout=30_000
    )


def fill_preinscription(
    page: Page,
    *,
    organisme: str = "CPAM GIRONDE",
    reference: str = "GIR-2026-042",
    structure: str = "CCAS de Mérignac",
    siret: str = SIRET,
) -> None:
    page.get_by_label(re.compile("^Organisme d'assurance maladie")).select_option(label=organisme)
    page.get_by_label(re.compile("^Référence de la convention")).fill(reference)
    page.get_by_label(re.compile("^Nom de la structure")).fill(structure)
    page.get_by_label(re.compile("^SIRET")).fill(f"{siret[:9]} {siret[9:]}")  # spaces accepted
    page.get_by_label(re.compile(r"^Adresse\s:")).fill("60 avenue du Maréchal de Lattre")
    page.get_by_label(re.compile("^Code postal")).fill("33700")
    page.get_by_label(re.compile("^Ville")).fill("Mérignac")
    page.get_by_label(re.compile("^Téléphone de la structure")).fill("05 56 00 00 00")
    page.get_by_label(re.compile("^Civilité")).select_option(label="Madame")
    page.get_by_label(re.compile("^Nom patronymique")).fill("Lefèvre")
    page.get_by_label(re.compile("^Prénom")).fill("Anne")
    page.get_by_label(re.compile("^Fonction")).fill("Directrice")
    page.get_by_label(re.compile(r"^Téléphone\s:")).fill("06 00 00 00 00")
    page.get_by_label(re.compile("^Adresse e-mail")).fill("a.lefevre@ccas-merignac.example")
    page.get_by_role("checkbox", name=re.compile("conditions générales")).check()


def test_preinscription_validated_by_the_fund_gives_the_invitation(new_page, people, accessible):
    page = new_page()
    page.goto("/connexion/")
    page.get_by_role("link", name=re.compile("Pré-inscription")).click()
    heading(page, "Pré-inscription d'une structure partenaire")
    fill_preinscription(page)
    pass_anti_robot(page)
    accessible(page, "pré-inscription, vérification anti-robot faite")
    page.get_by_role("button", name=re.compile("Envoyer")).click()
    heading(page, "Pré-inscription envoyée")
    expect(page.get_by_role("main")).to_contain_text("identifiant")
    accessible(page, "pré-inscription envoyée")
    # The applicant's acknowledgement, and the notice to the organisme's agent.
    assert sorted(email.to[0] for email in mail.outbox) == [
        "a.lefevre@ccas-merignac.example",
        "agent.gironde@assurance-maladie.example",
    ]
    assert PreInscription.objects.get().statut == Statut.EN_ATTENTE
    assert not User.objects.filter(email="a.lefevre@ccas-merignac.example").exists()
    mail.outbox.clear()

    agent = new_page()
    log_in_with_app(agent, "agent.gironde", TEST_PASSWORD)
    agent.locator("tr.model-preinscription").get_by_role("link", name="Pré-inscriptions").click()
    agent.get_by_role("link", name=re.compile("CCAS DE M", re.I)).first.click()
    agent.get_by_role("button", name="Valider").click()
    expect(agent.locator(".messagelist")).to_be_visible()

    gestionnaire = User.objects.get(email="a.lefevre@ccas-merignac.example")
    assert gestionnaire.role == Role.GESTIONNAIRE
    assert gestionnaire.structure.nom == "CCAS DE MERIGNAC"
    [invitation] = [email for email in mail.outbox if email.to == [gestionnaire.email]]
    link = re.search(r"https?://\S+/invitation/\S+/", invitation.body).group(0)
    page.goto(link)
    heading(page, "Créer mon mot de passe")
