"""The screenshots of the user manual and of the README, taken from the demo data by walking the
main screens in Chromium (issue 19, item 7): never made by hand, so they never go stale.

`make screenshots` runs this module with SCREENSHOTS_DIR (var/screenshots, which then replaces
static/aide): each PNG is written there, reduced to a palette so that all of them weigh a few
hundred kilobytes. Without
SCREENSHOTS_DIR (every other run) the walk still runs and each screenshot is checked (a PNG of
the screen's width), but nothing is written: the suite never changes the repository.
"""

import datetime
import io
import os
import re
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image
from playwright.sync_api import Page, expect

from accounts.models import User
from demandes.models import Demande
from espace_partenaires.management.commands.seed_demo import DEMO_PASSWORD
from tests.browser import scenario
from tests.browser.conftest import heading, log_in, log_in_with_app, menu

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE, NARROW = 1280, 360
# Every screenshot, by the walk that takes it: the manual's pages (jinja2/aide/) and the
# README show exactly these.
SCREENSHOTS = {
    "public": ["connexion", "preinscription", "connexion-360"],
    "gestionnaire": [
        "organisme",
        "accueil-gestionnaire",
        "comptes",
        "inactiver-compte",
        "reactiver-compte",
        "creer-compte",
        "revue-habilitations",
        "mot-de-passe",
    ],
    "technicien": [
        "accueil-technicien",
        "nouvelle-demande",
        "formulaire-demande",
        "mes-demandes",
        "complement",
        "mes-demandes-360",
        "complement-360",
    ],
    "agent": ["admin-accueil", "admin-file", "admin-demande", "admin-structure"],
}
# The demo's day, the same at every run: the dates and hours on the screens do not change, so
# neither do the files when the screens have not.
DEMO_DAY = datetime.datetime(2026, 11, 2, 10, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colours kept: the portal's flat colours and the anti-aliasing of text fit in this palette.
PALETTE_COLOURS = 96


def compressed(png: bytes) -> bytes:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    palette = image.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    output = io.BytesIO()
    palette.save(output, format="PNG", optimize=True)
    return output.getvalue()


@pytest.fixture
def shoot():
    """shoot(page, name): the screen as the person sees it (the viewport, not the whole page),
    checked, and written to SCREENSHOTS_DIR when it is set. Returns the names taken."""
    target = os.environ.get("SCREENSHOTS_DIR")
    taken: list[str] = []

    def take(page: Page, name: str) -> None:
        page.wait_for_load_state("networkidle")  # scripts and their fetches done
        page.mouse.move(0, 0)  # no hover left by the last click
        png = page.screenshot(animations="disabled", caret="hide")
        assert png.startswith(PNG_SIGNATURE)
        width = Image.open(io.BytesIO(png)).width
        assert width == page.viewport_size["width"], name
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            (Path(target) / f"{name}.png").write_bytes(compressed(png))
        taken.append(name)

    take.taken = taken
    return take


@pytest.fixture
def demo(settings):
    """The data of `make run`, on the test's fresh database, on the demo's day."""
    with time_machine.travel(DEMO_DAY, tick=True):
        settings.DEBUG = True
        scenario.create_offres()  # as the data migration does
        call_command("seed_demo", stdout=io.StringIO())
        yield


def scroll_to_top_of(locator) -> None:
    """The part of the page a screenshot is about, at the top of the screen."""
    locator.evaluate("element => element.scrollIntoView({block: 'start'})")


def accept_cgu_if_asked(page: Page) -> None:
    """A demo account's first log-in asks for the conditions of use first."""
    if "/cgu/" in page.url:
        page.get_by_role("main").get_by_role("checkbox").check()
        page.get_by_role("button", name="Accepter et continuer").click()


def partner_logs_in(page: Page, identifiant: str, organisme: str = "CPAM GIRONDE") -> None:
    log_in(page, identifiant, DEMO_PASSWORD)
    accept_cgu_if_asked(page)
    heading(page, "Sélection de l'organisme")
    page.get_by_label("Organisme").select_option(label=organisme)
    page.get_by_role("main").get_by_role("button", name="Valider").click()


def test_public_screens(demo, new_page, shoot):
    page = new_page(width=WIDE)
    page.goto("/connexion/")
    shoot(page, "connexion")
    page.get_by_role("link", name=re.compile("Pré-inscription")).click()
    heading(page, "Pré-inscription")
    shoot(page, "preinscription")
    phone = new_page(width=NARROW, height=740)
    phone.goto("/connexion/")
    shoot(phone, "connexion-360")

    assert shoot.taken == SCREENSHOTS["public"]


def test_gestionnaire_screens(demo, new_page, shoot):
    page = new_page(width=WIDE)
    log_in(page, "p.fort", DEMO_PASSWORD)
    accept_cgu_if_asked(page)
    heading(page, "Sélection de l'organisme")
    shoot(page, "organisme")
    page.get_by_label("Organisme").select_option(label="CPAM GIRONDE")
    page.get_by_role("main").get_by_role("button", name="Valider").click()
    shoot(page, "accueil-gestionnaire")
    menu(page, "Gestion des comptes")
    heading(page, "Gestion des comptes")
    shoot(page, "comptes")
    page.locator("li.account", has_text="v.chausson2").get_by_role("switch").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    shoot(page, "inactiver-compte")
    page.get_by_role("dialog").get_by_role("button", name="OUI").click()
    # Reactivated again, in the manual's two steps: the question, then the reason.
    page.locator("li.account", has_text="v.chausson2").get_by_role("switch").click()
    expect(page.get_by_role("dialog")).to_contain_text("réactiver ce compte")
    page.get_by_role("dialog").get_by_role("button", name="OUI").click()
    page.get_by_label("Préciser le motif de réactivation").fill("Retour de congé")
    shoot(page, "reactiver-compte")
    page.get_by_role("dialog").get_by_role("button", name="VALIDER").click()
    heading(page, "Gestion des comptes")
    page.get_by_role("link", name="Ajouter un technicien").click()
    heading(page, "Ajouter un compte technicien")
    shoot(page, "creer-compte")
    page.goto("/comptes/revue-des-habilitations/")
    heading(page, "Revue des habilitations")
    shoot(page, "revue-habilitations")
    page.goto("/mot-de-passe/")
    heading(page, "Changer mon mot de passe")
    expect(page.get_by_label("Afficher le mot de passe")).to_be_visible()
    shoot(page, "mot-de-passe")

    assert shoot.taken == SCREENSHOTS["gestionnaire"]


def test_technicien_screens(demo, new_page, shoot):
    complement = Demande.objects.get(nom="HAKIMI").reference
    page = new_page(width=WIDE)
    partner_logs_in(page, "m.pichon")
    shoot(page, "accueil-technicien")
    menu(page, "Nouvelle demande")
    shoot(page, "nouvelle-demande")
    page.get_by_role("link", name="Demander un rendez-vous pour un assuré").click()
    heading(page, "Demander un rendez-vous pour un assuré")
    shoot(page, "formulaire-demande")
    menu(page, "Mes demandes")
    shoot(page, "mes-demandes")
    page.get_by_role("link", name=complement).click()
    scroll_to_top_of(page.get_by_role("heading", name="L'organisme vous demande un complément"))
    shoot(page, "complement")
    phone = new_page(width=NARROW, height=740)
    partner_logs_in(phone, "m.pichon")
    menu(phone, "Mes demandes")
    # The list itself, its rows stacked as cards on a phone.
    scroll_to_top_of(phone.locator(".results-count"))
    shoot(phone, "mes-demandes-360")
    phone.get_by_role("link", name=complement).click()
    scroll_to_top_of(phone.get_by_role("heading", name="L'organisme vous demande un complément"))
    shoot(phone, "complement-360")

    assert shoot.taken == SCREENSHOTS["technicien"]


def test_agent_screens(demo, new_page, shoot):
    agent = User.objects.get(identifiant="agent.gironde")
    # Enrolled as at a first log-in (tests/browser/test_second_factor.py walks the enrolment).
    TOTPDevice.objects.create(user=agent, name="Application", confirmed=True)
    envoyee = Demande.objects.get(nom="DUPUIS").reference
    page = new_page(width=WIDE)
    log_in_with_app(page, "agent.gironde", DEMO_PASSWORD)
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Ma file de travail")).to_be_visible()
    shoot(page, "admin-accueil")
    page.goto("/admin/demandes/demande/")
    heading(page, "Demandes à traiter")
    shoot(page, "admin-file")
    # A demande not taken yet: the page offers "Prendre en charge".
    page.get_by_role("link", name=envoyee).click()
    shoot(page, "admin-demande")
    page.goto("/admin/organismes/structurepartenaire/add/")
    scroll_to_top_of(page.get_by_role("group", name="Conventions"))
    shoot(page, "admin-structure")

    assert shoot.taken == SCREENSHOTS["agent"]
