"""Reactivation of a technicien, exactly as manual 000 §IV-2.3 tells it (issue 19, item 4): the
question "Êtes-vous sûr de vouloir réactiver ce compte ?" with OUI / NON, then "Préciser le
motif de réactivation * (5000 caractères maximum)" with ANNULER / VALIDER; in a dialog with
JavaScript, on two pages without; the server refuses an empty reason next to the field, and
nothing is saved until the reason is given. axe-core runs on each state with JavaScript."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import AccountEvent, User
from tests.browser import scenario
from tests.browser.conftest import heading, log_in, menu
from tests.browser.test_journeys import choose_organisme
from tests.factories import TEST_PASSWORD, TechnicienFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTION = re.compile(r"Êtes-vous sûr de vouloir réactiver ce compte\s\?")
LABEL = "Préciser le motif de réactivation * (5000 caractères maximum)"
REQUIRED = "Le motif de réactivation est obligatoire."


@pytest.fixture
def people():
    people = scenario.build()
    TechnicienFactory(
        structure=people.structure,
        identifiant="m.pichon",
        nom_patronymique="PICHON",
        prenom="Maryse",
        email="m.pichon@restosducoeur.example",
        is_active=False,
        inactivated_at=timezone.now(),
    )
    return people


def open_the_list(page: Page) -> None:
    log_in(page, "p.fort", TEST_PASSWORD)
    choose_organisme(page, "CPAM GIRONDE")
    menu(page, "Gestion des comptes")


def maryse(page: Page):
    return page.locator("li.account", has_text="m.pichon")


def assert_still_inactive() -> None:
    account = User.objects.get(identifiant="m.pichon")
    assert not account.is_active
    assert not account.events.filter(kind=AccountEvent.Kind.REACTIVATED).exists()


def assert_reactivated(reason: str) -> None:
    account = User.objects.get(identifiant="m.pichon")
    assert account.is_active
    assert account.reactivation_reason == reason


def test_with_javascript_the_dialog_asks_then_wants_the_reason(new_page, people, accessible):
    page = new_page()
    open_the_list(page)
    maryse(page).get_by_role("switch").click()

    dialog = page.get_by_role("dialog")
    expect(dialog.locator("[data-question]")).to_have_text(QUESTION)
    expect(dialog.get_by_role("button", name="OUI")).to_be_focused()
    expect(dialog.get_by_role("button", name="NON")).to_be_visible()
    expect(dialog.get_by_role("button", name="VALIDER")).to_be_hidden()
    accessible(page, "réactivation, dialogue : la question")

    # NON closes the dialog, nothing changes.
    dialog.get_by_role("button", name="NON").click()
    expect(dialog).to_be_hidden()
    assert_still_inactive()

    maryse(page).get_by_role("switch").click()
    dialog.get_by_role("button", name="OUI").click()
    reason = dialog.get_by_label(LABEL, exact=True)
    expect(reason).to_be_focused()
    expect(reason).to_have_attribute("aria-required", "true")
    expect(dialog.get_by_role("button", name="OUI")).to_be_hidden()
    expect(dialog.get_by_role("button", name="ANNULER")).to_be_visible()
    accessible(page, "réactivation, dialogue : le motif")
    assert_still_inactive()

    # VALIDER with no reason: the browser lets it go, the server says what is missing.
    dialog.get_by_role("button", name="VALIDER").click()
    heading(page, "Réactiver un compte")
    field = page.get_by_label(LABEL, exact=True)
    expect(page.locator("#id_motif_error")).to_have_text(REQUIRED)
    expect(field).to_have_attribute("aria-invalid", "true")
    accessible(page, "réactivation : motif manquant")
    assert_still_inactive()

    field.fill("Retour d'absence de longue durée")
    page.get_by_role("main").get_by_role("button", name="VALIDER").click()
    heading(page, "Gestion des comptes")
    expect(maryse(page)).to_contain_text("Compte actif")
    assert_reactivated("Retour d'absence de longue durée")


def test_annuler_in_the_dialog_changes_nothing(new_page, people):
    page = new_page()
    open_the_list(page)
    maryse(page).get_by_role("switch").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="OUI").click()
    dialog.get_by_label(LABEL, exact=True).fill("Par erreur")
    dialog.get_by_role("button", name="ANNULER").click()

    expect(dialog).to_be_hidden()
    expect(maryse(page)).to_contain_text("Compte inactif")
    assert_still_inactive()


def test_without_javascript_two_pages_ask_then_want_the_reason(new_page, people):
    page = new_page(javascript=False)
    open_the_list(page)
    maryse(page).get_by_role("switch").click()

    heading(page, "Réactiver un compte")
    main = page.get_by_role("main")
    expect(main.locator(".dialog-question")).to_have_text(QUESTION)
    expect(main.get_by_role("link", name="NON")).to_be_visible()
    expect(main.get_by_role("textbox")).to_have_count(0)
    main.get_by_role("button", name="OUI").click()

    heading(page, "Réactiver un compte")
    field = page.get_by_label(LABEL, exact=True)
    expect(field).to_be_visible()
    expect(main.get_by_role("link", name="ANNULER")).to_be_visible()
    expect(main.locator(".errorlist")).to_have_count(0)
    assert_still_inactive()

    main.get_by_role("button", name="VALIDER").click()
    expect(page.locator("#id_motif_error")).to_have_text(REQUIRED)
    assert_still_inactive()

    page.get_by_label(LABEL, exact=True).fill("Retour de congé")
    main.get_by_role("button", name="VALIDER").click()
    heading(page, "Gestion des comptes")
    expect(maryse(page)).to_contain_text("Compte actif")
    assert_reactivated("Retour de congé")
