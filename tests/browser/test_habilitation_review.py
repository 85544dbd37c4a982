"""The 'Revue des habilitations' journey in Chromium (issue 17, item 5): the gestionnaire follows
the link of the e-mail, logs in, chooses the organisme, lands on the review, confirms one
technicien and inactivates another, and sees the confirmation; axe-core finds nothing on each
page and state, and nothing is wider than 360 px."""

import datetime
import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.jobs import request_habilitation_reviews
from accounts.models import HabilitationReview, User
from conventions.models import Convention
from tests.browser import scenario
from tests.browser.conftest import heading
from tests.browser.test_small_screens import WIDTH, fits  # noqa: F401 (its fixture)
from tests.factories import TEST_PASSWORD, TechnicienFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Visit = Callable[[Page, str], None]


@pytest.fixture
def review_link():
    """LES RESTOS DU COEUR, under convention for more than a year and never reviewed, with two
    techniciens; the job has e-mailed Pierre FORT the link to the review."""
    people = scenario.build()
    Convention.objects.filter(structure=people.structure).update(
        date_debut=timezone.localdate() - datetime.timedelta(days=400)
    )
    TechnicienFactory(
        structure=people.structure,
        identifiant="m.pichon",
        nom_patronymique="PICHON",
        prenom="Maryse",
        email="m.pichon@restosducoeur.example",
    )
    mail.outbox.clear()
    assert request_habilitation_reviews().emails == 1
    [message] = mail.outbox
    assert message.to == ["p.fort@restosducoeur.example"]
    return re.search(r"https?://\S+/comptes/revue-des-habilitations/", message.body).group(0)


def walk(page: Page, visit: Visit, link: str) -> None:
    page.goto(link)
    heading(page, "Connexion")  # not logged in yet: the link leads through the log-in
    page.get_by_label("Identifiant").fill("p.fort")
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    heading(page, "Sélection de l'organisme")
    page.get_by_label("Organisme").select_option(label="CPAM GIRONDE")
    page.get_by_role("button", name="Valider").click()
    heading(page, "Revue des habilitations")  # where the e-mail's link led, after the choice

    # The home page says it too, with its own link.
    page.get_by_role("link", name="Accueil").first.click()
    heading(page, "Bienvenue sur Espace Partenaires.")
    expect(page.get_by_role("heading", name="Revue des habilitations à faire")).to_be_visible()
    visit(page, "accueil du gestionnaire, revue à faire")
    page.get_by_role("link", name="Faire la revue des habilitations").click()

    heading(page, "Revue des habilitations")
    chausson = page.get_by_role("group", name=re.compile("CHAUSSON Valérie"))
    pichon = page.get_by_role("group", name=re.compile("PICHON Maryse"))
    expect(chausson).to_contain_text("Dernière connexion : jamais")
    visit(page, "revue des habilitations")

    # Sent with one decision missing: the error is next to the account, the choice kept.
    pichon.get_by_role("radio", name=re.compile("Inactiver le compte")).check()
    page.get_by_role("button", name="Enregistrer la revue").click()
    expect(chausson).to_contain_text("Choisissez de confirmer ou d'inactiver ce compte.")
    expect(pichon.get_by_role("radio", name=re.compile("Inactiver le compte"))).to_be_checked()
    visit(page, "revue des habilitations, décision manquante")

    chausson.get_by_role("radio", name=re.compile("Confirmer l'habilitation")).check()
    page.get_by_role("button", name="Enregistrer la revue").click()
    expect(page.get_by_role("status")).to_have_text(
        "La revue des habilitations est enregistrée : 1 compte confirmé, 1 compte inactivé."
    )
    expect(page.get_by_role("main")).to_contain_text("Dernière revue le")
    expect(page.get_by_role("main")).to_contain_text("par Pierre FORT")
    expect(page.get_by_role("group", name=re.compile("PICHON"))).to_have_count(0)
    visit(page, "revue des habilitations, enregistrée")

    assert not User.objects.get(identifiant="m.pichon").is_active
    assert User.objects.get(identifiant="v.chausson").is_active
    review = HabilitationReview.objects.get()
    assert (review.by.identifiant, review.confirmed, review.inactivated) == ("p.fort", 1, 1)


def test_the_gestionnaire_reviews_the_habilitations_from_the_e_mail(page, review_link, accessible):
    walk(page, accessible, review_link)


def test_the_review_fits_a_360_px_screen(new_page, review_link, fits):  # noqa: F811
    walk(new_page(width=WIDTH, height=740), fits, review_link)
