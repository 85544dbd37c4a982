"""The account actions and the demande form with JavaScript disabled: the switches lead to
confirmation pages instead of dialogs, and everything else is plain HTML (issue 7)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from demandes.models import Demande
from tests.browser import scenario
from tests.browser.conftest import heading, log_in, menu
from tests.browser.test_journeys import add_maryse, choose_organisme, fill_demande
from tests.factories import TEST_PASSWORD, TechnicienFactory
from tests.helpers import PDF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people():
    return scenario.build()


@pytest.fixture
def page(new_page):
    return new_page(javascript=False)


def test_a_gestionnaire_manages_accounts_without_javascript(page, people):
    log_in(page, "p.fort", TEST_PASSWORD)
    choose_organisme(page, "CPAM GIRONDE")
    menu(page, "Gestion des comptes")
    page.get_by_role("link", name="Ajouter un technicien").click()
    add_maryse(page)
    maryse = page.locator("li.account", has_text="m.pichon")
    expect(maryse).to_contain_text("Compte actif")

    maryse.get_by_role("switch").click()
    heading(page, "Inactiver un compte")
    expect(page.get_by_role("main")).to_contain_text(
        "Êtes-vous sûr de vouloir inactiver ce compte ?"
    )
    page.get_by_role("button", name="OUI").click()
    maryse = page.locator("li.account", has_text="m.pichon")
    expect(maryse).to_contain_text(re.compile("Compte inactif depuis le"))

    maryse.get_by_role("switch").click()
    heading(page, "Réactiver un compte")
    page.get_by_role("button", name="OUI").click()
    page.get_by_role("button", name="VALIDER").click()  # without the reason: refused, said why
    expect(page.locator(".errorlist")).to_be_visible()
    page.get_by_label("Préciser le motif de réactivation").fill("Retour de congé")
    page.get_by_role("button", name="VALIDER").click()
    maryse = page.locator("li.account", has_text="m.pichon")
    expect(maryse).to_contain_text("Compte actif")
    assert User.objects.get(identifiant="m.pichon").is_active


def test_a_technicien_sends_a_demande_without_javascript(page, people, tmp_path):
    TechnicienFactory(structure=people.structure, identifiant="m.pichon", prenom="Maryse")
    log_in(page, "m.pichon", TEST_PASSWORD)
    choose_organisme(page, "CPAM GIRONDE")
    menu(page, "Nouvelle demande")
    page.get_by_role("link", name="Demander un rendez-vous pour un assuré").click()
    fill_demande(page, nom="Martin")
    attestation = tmp_path / "attestation.pdf"
    attestation.write_bytes(PDF)
    page.get_by_label("Pièces jointes").set_input_files(attestation)
    page.get_by_role("button", name="Envoyer la demande").click()
    # The consent was forgotten: the error is next to its box, the rest of the input is kept.
    expect(page.locator(".form-errors")).to_contain_text("Cochez cette case")
    expect(page.get_by_label(re.compile(r"^Nom\b"))).to_have_value("Martin")
    page.get_by_label("Pièces jointes").set_input_files(attestation)
    page.get_by_role("checkbox", name=re.compile("a donné son accord")).check()
    page.get_by_role("button", name="Envoyer la demande").click()
    heading(page, "Demande EP-")
    expect(page.get_by_role("main")).to_contain_text("attestation.pdf")
    assert Demande.objects.get().pieces.count() == 1
