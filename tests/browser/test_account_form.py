"""The technicien account form says each rule before it is broken and never cuts what is typed
(issue 19, item 3): a 25-letter prénom reaches the server whole and is refused next to its
field, with what was typed kept."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.browser import scenario
from tests.browser.conftest import heading, log_in, menu
from tests.browser.test_journeys import choose_organisme
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRENOM = "Marie-Christine-Angelique"  # 25 characters, the limit is 20


@pytest.fixture
def people():
    return scenario.build()


@pytest.mark.parametrize("javascript", [True, False])
def test_a_25_letter_prenom_is_refused_with_a_message_not_cut(new_page, people, javascript):
    page = new_page(javascript=javascript)
    log_in(page, "p.fort", TEST_PASSWORD)
    choose_organisme(page, "CPAM GIRONDE")
    menu(page, "Gestion des comptes")
    page.get_by_role("link", name="Ajouter un technicien").click()
    heading(page, "Ajouter un compte technicien")
    prenom = page.get_by_label("Prénom")
    expect(page.locator("#id_prenom_helptext")).to_have_text(
        "20 caractères maximum (accepté alpha, espace, tiret, apostrophe)."
    )
    expect(page.get_by_label("Civilité").locator("option").first).to_have_text(
        "Sélectionner la civilité"
    )

    page.get_by_label("Civilité").select_option(label="Madame")
    page.get_by_label("Nom patronymique").fill("Pichon")
    prenom.press_sequentially(PRENOM)
    expect(prenom).to_have_value(PRENOM)  # typing is not cut at the 20th letter
    page.get_by_label("Fonction").fill("Bénévole")
    page.get_by_label("Téléphone").fill("0700000000")
    page.get_by_label("Adresse e-mail").fill("maryse.pichon@restosducoeur.example")
    page.get_by_role("main").get_by_role("button", name="Valider").click()

    heading(page, "Ajouter un compte technicien")
    expect(page.locator("#id_prenom_error")).to_have_text(
        re.compile(r"au plus 20 caractères \(actuellement 25\)")
    )
    expect(page.get_by_label("Prénom")).to_have_value(PRENOM)
    assert not User.objects.filter(nom_patronymique="PICHON").exists()


@pytest.mark.parametrize("javascript", [True, False])
def test_afficher_le_mot_de_passe_works_with_javascript_only(new_page, people, javascript):
    """Issue 19, item 9: the rule next to the first field, and "Afficher le mot de passe"; without
    JavaScript the fields simply stay password fields."""
    page = new_page(javascript=javascript)
    log_in(page, "p.fort", TEST_PASSWORD)
    choose_organisme(page, "CPAM GIRONDE")
    page.goto("/mot-de-passe/")
    heading(page, "Changer mon mot de passe")
    new = page.get_by_label(re.compile(r"^Nouveau mot de passe"))
    expect(new).to_have_attribute("type", "password")
    expect(page.locator("#id_new_password1_helptext")).to_contain_text("Au moins 12 caractères")
    show = page.get_by_label("Afficher le mot de passe")
    if not javascript:
        expect(show).to_be_hidden()
        return
    show.check()
    expect(new).to_have_attribute("type", "text")
    expect(page.get_by_label("Confirmation du nouveau mot de passe")).to_have_attribute(
        "type", "text"
    )
    expect(page.get_by_label("Ancien mot de passe")).to_have_attribute("type", "password")
    show.uncheck()
    expect(new).to_have_attribute("type", "password")

    new.fill("court")
    page.get_by_label("Confirmation du nouveau mot de passe").fill("court")
    page.get_by_label("Ancien mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#id_new_password1_error")).to_contain_text("trop court")
    expect(page.locator("#id_new_password2_error")).to_have_count(0)
