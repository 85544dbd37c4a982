"""The user manual, one page per role, and the "Aide" link of each portal screen to its section
(issue 19, item 7; SPEC §10 "Help"). The manual is public: it helps before the first log-in
(invitation, forgotten password, pré-inscription) and holds no personal data."""

import html
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.middleware import SESSION_ORGANISME_KEY
from conventions.models import Offre
from demandes import services as demandes_services
from tests.browser import scenario
from tests.browser.test_screenshots import SCREENSHOTS
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    StructureFactory,
    TechnicienFactory,
)
from tests.helpers import log_in_verified

pytestmark = pytest.mark.django_db

STATIC_AIDE = Path(settings.BASE_DIR) / "static" / "aide"

# The tasks of each role, each a section with its id (the "Aide" links point there).
SECTIONS = {
    "gestionnaire": [
        "se-connecter",
        "premiere-connexion",
        "mot-de-passe-oublie",
        "choisir-organisme",
        "accueil",
        "comptes",
        "creer-compte",
        "modifier-compte",
        "inactiver-compte",
        "reactiver-compte",
        "historique-compte",
        "revue-habilitations",
        "ma-structure",
        "demandes-structure",
        "mot-de-passe",
    ],
    "technicien": [
        "se-connecter",
        "premiere-connexion",
        "mot-de-passe-oublie",
        "choisir-organisme",
        "accueil",
        "faire-une-demande",
        "remplir-demande",
        "suivre-demandes",
        "detail-demande",
        "repondre-complement",
        "messages",
        "mot-de-passe",
    ],
    "agent": [
        "se-connecter",
        "second-facteur",
        "file-de-travail",
        "prendre-en-charge",
        "attribuer",
        "demander-complement",
        "messages",
        "cloturer",
        "actions-groupees",
        "notifications",
        "structures-conventions",
        "gestionnaires",
        "preinscriptions",
        "suspendre",
        "indicateurs",
    ],
}


def ids(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


def test_the_manual_index_is_public_and_leads_to_each_role(client):
    response = client.get("/aide/")

    assert response.status_code == 200
    for role in SECTIONS:
        assert f'href="/aide/{role}/"' in response.text
    text = html.unescape(response.text)
    assert "Manuel du gestionnaire partenaire" in text
    assert "Manuel du technicien partenaire" in text
    assert "Manuel de l'agent de caisse" in text


@pytest.mark.parametrize("role", SECTIONS)
def test_each_manual_is_public_with_a_section_per_task(client, role):
    response = client.get(f"/aide/{role}/")

    assert response.status_code == 200
    assert set(SECTIONS[role]) <= ids(response.text)
    # The table of contents leads to every section.
    for section in SECTIONS[role]:
        assert f'href="#{section}"' in response.text


def test_an_unknown_manual_is_not_found(client):
    assert client.get("/aide/inconnu/").status_code == 404


@pytest.mark.parametrize("role", SECTIONS)
def test_every_screenshot_of_a_manual_exists_and_says_what_it_shows(client, role):
    response = client.get(f"/aide/{role}/")

    images = re.findall(r"<img\b[^>]*>", response.text)
    assert len(images) >= 3
    for image in images:
        source = re.search(r'src="/static/aide/([^"]+\.png)"', image).group(1)
        alt = re.search(r'alt="([^"]*)"', image).group(1)
        assert (STATIC_AIDE / source).is_file(), source
        assert len(alt) > 20, image  # says what the screen shows, not "capture"


def help_link(response) -> tuple[str, str]:
    """(manual, section) of the page's "Aide" link, checked to exist in that manual."""
    found = re.findall(r'<a class="help-link" href="/aide/(?:([a-z]+)/)?#([a-z-]+)"', response.text)
    assert len(found) == 1, response.request["PATH_INFO"]
    return found[0]


def assert_help_link(client, response, manual: str, section: str) -> None:
    assert response.status_code == 200, response.request["PATH_INFO"]
    assert help_link(response) == (manual, section)
    target = client.get(f"/aide/{manual}/" if manual else "/aide/")
    assert section in ids(target.text)


@pytest.mark.parametrize(
    ("url", "section"),
    [
        ("/connexion/", "se-connecter"),
        ("/mot-de-passe-oublie/", "mot-de-passe-oublie"),
        ("/identifiant-oublie/", "mot-de-passe-oublie"),
        ("/pre-inscription/", "pre-inscription"),
        ("/contact/", "contact"),
    ],
)
def test_public_screens_link_to_their_section_of_the_manual(client, url, section):
    assert_help_link(client, client.get(url), "", section)


@pytest.fixture
def structure():
    structure = StructureFactory()
    scenario.create_offres()
    convention = ConventionFactory(structure=structure)
    convention.offres.set(Offre.objects.all())
    return structure


def logged_in(client, user):
    client.force_login(user)
    session = client.session
    session[SESSION_ORGANISME_KEY] = user.structure.conventions.get().organisme_id
    session.save()
    return user


def test_gestionnaire_screens_link_to_their_section_of_the_manual(client, structure):
    technicien = TechnicienFactory(structure=structure)
    TechnicienFactory(structure=structure)
    logged_in(client, GestionnaireFactory(structure=structure))

    for url, section in [
        (reverse("home"), "accueil"),
        (reverse("accounts:techniciens"), "comptes"),
        (reverse("accounts:technicien_create"), "creer-compte"),
        (reverse("accounts:technicien_modify", args=[technicien.pk]), "modifier-compte"),
        (reverse("accounts:technicien_inactivate", args=[technicien.pk]), "inactiver-compte"),
        (reverse("accounts:technicien_history", args=[technicien.pk]), "historique-compte"),
        (reverse("accounts:habilitation_review"), "revue-habilitations"),
        (reverse("accounts:ma_structure"), "ma-structure"),
        (reverse("demandes:list"), "demandes-structure"),
        (reverse("accounts:password_change"), "mot-de-passe"),
    ]:
        assert_help_link(client, client.get(url), "gestionnaire", section)


def test_the_organisme_selection_links_to_the_manual_of_the_role(client, structure):
    ConventionFactory(structure=structure)  # two organismes: the choice is asked
    client.force_login(TechnicienFactory(structure=structure))

    response = client.get(reverse("accounts:organisme_selection"))

    assert_help_link(client, response, "technicien", "choisir-organisme")


def test_technicien_screens_link_to_their_section_of_the_manual(client, structure):
    technicien = logged_in(client, TechnicienFactory(structure=structure))
    convention = structure.conventions.get()
    demande = demandes_services.create_demande(
        by=technicien,
        convention=convention,
        offre=Offre.objects.get(code="document"),
        data={
            "motif": "attestation-droits",
            "civilite": "MME",
            "nom": "DUPUIS",
            "prenom": "Jeanne",
            "date_naissance": "1950-04-12",
            "departement": "33",
            "consentement": True,
        },
    )

    for url, section in [
        (reverse("home"), "accueil"),
        (reverse("demandes:choose"), "faire-une-demande"),
        (reverse("demandes:create", args=["document"]), "remplir-demande"),
        (reverse("demandes:list"), "suivre-demandes"),
        (reverse("demandes:detail", args=[demande.pk]), "detail-demande"),
    ]:
        assert_help_link(client, client.get(url), "technicien", section)


def test_every_screenshot_taken_is_committed_and_shown(client):
    """`make screenshots` writes exactly the screenshots of tests/browser/test_screenshots.py;
    each is shown by a manual page or the README, so none lingers unused."""
    taken = {name for names in SCREENSHOTS.values() for name in names}
    committed = {path.stem for path in STATIC_AIDE.glob("*.png")}
    shown = set()
    for url in ["/aide/", *(f"/aide/{role}/" for role in SECTIONS)]:
        shown |= set(re.findall(r'src="/static/aide/([^"]+)\.png"', client.get(url).text))
    readme = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    shown |= set(re.findall(r"\(static/aide/([^)]+)\.png\)", readme))

    assert committed == taken
    assert shown == taken
    # Small enough for a repository: a palette, not photographs.
    assert sum(path.stat().st_size for path in STATIC_AIDE.glob("*.png")) < 800_000


def test_admin_pages_link_to_their_section_of_the_agents_manual(client):
    log_in_verified(client, AgentFactory())

    for url, section in [
        (reverse("admin:demandes_demande_changelist"), "file-de-travail"),
        (reverse("admin:organismes_structurepartenaire_add"), "structures-conventions"),
        (reverse("admin:inscriptions_preinscription_changelist"), "preinscriptions"),
        (reverse("admin:demandes_demande_notifications"), "notifications"),
    ]:
        assert_help_link(client, client.get(url), "agent", section)
