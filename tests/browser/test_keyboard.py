"""The technician-creation and demande journeys with the keyboard alone: Tab, Shift-Tab, Enter,
Space, Escape and typing; the focus is visible at every step, and put where it helps after a
dialog and after an error (issue 7, RGAA themes 10 and 12)."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from demandes.models import Demande
from tests.browser import scenario
from tests.browser.conftest import heading
from tests.factories import TEST_PASSWORD, TechnicienFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Chromium moves the focus into a date field's parts (day, month, year) a moment after the key:
# wait for it. The field itself then matches :focus-within only.
SETTLED = """() => document.activeElement === document.body
  || document.activeElement.matches(':focus, :focus-within')"""
FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const label = element.labels && element.labels.length ? element.labels[0].textContent : "";
  return {
    name: (element.getAttribute("aria-label") || label || element.textContent || element.value
           || "").replace(/\\s+/g, " ").trim(),
    tag: element.tagName.toLowerCase(),
    id: element.id,
    visible: element === document.body
      || (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2),
  };
}"""


class Keyboard:
    def __init__(self, page: Page):
        self.page = page

    def focused(self) -> dict:
        self.page.wait_for_function(SETTLED, timeout=2_000)
        return self.page.evaluate(FOCUSED)

    def press(self, key: str) -> dict:
        self.page.keyboard.press(key)
        focused = self.focused()
        assert focused["visible"], f"focus not visible after {key}: {focused}"
        return focused

    def follow(self, key: str = "Enter") -> dict:
        """A key that loads another page (a link, a form's button)."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)
        focused = self.focused()
        assert focused["visible"], f"focus not visible on the new page: {focused}"
        return focused

    def tab_to(self, name: str | re.Pattern, *, backwards: bool = False, limit: int = 60) -> None:
        """Tab (or Shift-Tab) until the focused element's name matches, checking every step."""
        pattern = name if isinstance(name, re.Pattern) else re.compile(re.escape(name))
        for _step in range(limit):
            focused = self.press("Shift+Tab" if backwards else "Tab")
            if pattern.search(focused["name"]):
                return
        raise AssertionError(f"{name!r} not reached with the keyboard in {limit} steps")

    def type_in(self, name: str | re.Pattern, text: str) -> None:
        self.tab_to(name)
        self.page.keyboard.type(text)


def log_in(keyboard: Keyboard, identifiant: str) -> None:
    page = keyboard.page
    page.goto("/connexion/")
    assert keyboard.focused()["id"] == "id_username"  # the log-in page starts in its field
    page.keyboard.type(identifiant)
    keyboard.type_in("Mot de passe", TEST_PASSWORD)
    keyboard.follow()


def skip_to_content(keyboard: Keyboard) -> None:
    """The first Tab of a page reaches the skip link, visible when focused; Enter moves the focus
    to the content, past the header and the menu."""
    page = keyboard.page
    page.evaluate("document.activeElement && document.activeElement.blur()")
    assert keyboard.press("Tab")["name"] == "Aller au contenu"
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_in_viewport()
    keyboard.press("Enter")
    assert keyboard.focused()["id"] == "contenu"


def choose_organisme(keyboard: Keyboard, nom: str) -> None:
    heading(keyboard.page, "Sélection de l'organisme")
    keyboard.tab_to("Sélectionnez l'organisme")
    keyboard.page.keyboard.type(nom)  # a closed <select> picks the option typed
    keyboard.tab_to("Valider")
    keyboard.follow()


@pytest.fixture
def people():
    return scenario.build()


def test_a_gestionnaire_creates_and_inactivates_a_technicien_with_the_keyboard(page, people):
    keyboard = Keyboard(page)
    log_in(keyboard, "p.fort")
    choose_organisme(keyboard, "CPAM GIRONDE")
    keyboard.tab_to("Gestion des comptes")
    keyboard.follow()
    skip_to_content(keyboard)
    keyboard.tab_to("Ajouter un technicien")
    keyboard.follow()
    heading(page, "Ajouter un compte technicien")

    # Sent empty: the focus lands on the summary of errors, whose links lead to the fields.
    keyboard.tab_to("Valider")
    summary = keyboard.follow()
    assert summary["name"].startswith("Le formulaire contient des erreurs")
    keyboard.tab_to("Civilité")
    keyboard.press("Enter")
    assert keyboard.focused()["id"] == "id_civilite"

    page.keyboard.type("Madame")
    keyboard.type_in("Nom patronymique", "Pichon")
    keyboard.type_in("Prénom", "Maryse")
    keyboard.type_in("Fonction", "Bénévole")
    keyboard.type_in("Téléphone", "07 00 00 00 00")
    keyboard.type_in("Adresse e-mail", "maryse.pichon@restosducoeur.example")
    keyboard.tab_to("Annuler")
    keyboard.press("Shift+Tab")  # back to "Valider"
    keyboard.follow()
    heading(page, "Gestion des comptes")
    expect(page.locator("li.account", has_text="m.pichon")).to_be_visible()

    # The switch opens the dialog (Space), Escape closes it and gives the focus back.
    switch = re.compile("Compte de Maryse PICHON actif")
    keyboard.tab_to(switch)
    keyboard.press("Space")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert keyboard.focused()["name"] == "OUI"
    keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert switch.search(keyboard.focused()["name"])
    keyboard.press("Space")
    keyboard.follow()  # Enter on "OUI"
    maryse = page.locator("li.account", has_text="m.pichon")
    expect(maryse).to_contain_text("Compte inactif depuis le")
    assert not User.objects.get(identifiant="m.pichon").is_active


def test_a_technicien_sends_a_demande_with_the_keyboard(page, people):
    TechnicienFactory(structure=people.structure, identifiant="m.pichon", prenom="Maryse")
    keyboard = Keyboard(page)
    log_in(keyboard, "m.pichon")
    choose_organisme(keyboard, "CPAM GIRONDE")
    keyboard.tab_to("Nouvelle demande")
    keyboard.follow()
    keyboard.tab_to("Demander un rendez-vous pour un assuré")
    keyboard.follow()
    heading(page, "Demander un rendez-vous pour un assuré")

    keyboard.tab_to("Civilité")
    page.keyboard.type("Madame")
    keyboard.type_in(re.compile("^Nom"), "Martin")
    keyboard.type_in("Prénom", "Jeanne")
    # Day and month alike: headless Chromium orders a date field's parts by its own interface
    # language, which the page's locale does not change.
    keyboard.type_in("Date de naissance", "12121950")
    keyboard.type_in("Département de résidence", "33 — Gironde")
    keyboard.tab_to("Motif de la demande")
    page.keyboard.press("ArrowDown")
    keyboard.type_in("Commentaire", "Madame souhaite un rendez-vous.")
    keyboard.tab_to("a donné son accord")
    keyboard.press("Space")
    keyboard.tab_to("Envoyer la demande")
    keyboard.follow()

    heading(page, "Demande EP-")
    demande = Demande.objects.get()
    assert (demande.nom, demande.departement, demande.date_naissance.isoformat()) == (
        "Martin",
        "33",
        "1950-12-12",
    )
