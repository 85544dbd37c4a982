"""SPEC §3 "Header on every portal page" and the manual's chapter III: the shell of the portal,
the home page of each role, the French error pages, and the security headers of every page."""

import datetime
import io
import re
import zoneinfo
from html.parser import HTMLParser

import pytest
import time_machine
from django.template import loader
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from accounts.middleware import SESSION_ORGANISME_KEY
from tests.factories import (
    TEST_PASSWORD,
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    TechnicienFactory,
)
from tests.helpers import log_in_verified

pytestmark = pytest.mark.django_db

D = datetime.date
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
TODAY = D(2026, 3, 10)
HOME_URL = reverse("home")
SELECTION_URL = reverse("accounts:organisme_selection")
LOGOUT_URL = reverse("accounts:logout")
LOGIN_URL = reverse("accounts:login")


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(datetime.datetime(2026, 3, 10, 12, tzinfo=PARIS), tick=False):
        yield


def days(n: int) -> D:
    return TODAY + datetime.timedelta(days=n)


def partner_with_organisme(client, factory=GestionnaireFactory, nom="CPAM GIRONDE", **convention):
    """A partner logged in, whose structure has one convention, its organisme selected."""
    structure = StructureFactory(nom="LES RESTOS DU COEUR")
    convention = ConventionFactory(
        structure=structure, organisme=OrganismeFactory(nom=nom), **convention
    )
    user = factory(structure=structure, prenom="Paul", nom_patronymique="FORT")
    log_in_verified(client, user)
    client.get(SELECTION_URL)  # the only organisme: selected without asking
    assert client.session[SESSION_ORGANISME_KEY] == convention.organisme_id
    return user, convention


class Elements(HTMLParser):
    """Start tags with their attributes, and the text inside chosen elements."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.texts: dict[str, str] = {}
        self._open: list[tuple[str, str]] = []  # (tag, key of the element whose text we keep)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        key = attrs.get("class", "").split(" ")[0] if tag in ("details", "summary", "a") else ""
        if tag in ("details", "summary") or key in ("logo", "selected-organisme"):
            key = key or tag
            self.texts.setdefault(key, "")
            self._open.append((tag, key))

    def handle_data(self, data):
        for _tag, key in self._open:
            self.texts[key] += data

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def find(self, tag, **attrs) -> list[dict]:
        return [
            found
            for name, found in self.tags
            if name == tag and all(found.get(k) == v for k, v in attrs.items())
        ]

    def text(self, key: str) -> str:
        return " ".join(self.texts[key].split())


def elements(response) -> Elements:
    parser = Elements()
    parser.feed(response.text)
    return parser


# --- The header ------------------------------------------------------------------------------


def test_the_top_bar_links_to_ameli_and_to_the_user_manual(client, settings):
    settings.USER_MANUAL_URL = "https://manuel.example.fr/espace-partenaires.pdf"
    partner_with_organisme(client)

    response = client.get(HOME_URL)

    top_bar = response.text.split('<nav class="top-bar"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="https://www.ameli.fr/">ameli.fr</a>' in top_bar
    assert (
        '<a href="https://manuel.example.fr/espace-partenaires.pdf">Manuel utilisateur</a>'
        in top_bar
    )


def test_the_logo_leads_to_the_home_page(client):
    partner_with_organisme(client)

    page = elements(client.get(reverse("accounts:password_change")))

    (logo,) = page.find("a", **{"class": "logo"})
    assert logo["href"] == HOME_URL
    # The portal's name, then what it is (issue 19, item 11).
    assert page.text("logo") == (
        "Espace Partenaires Le portail des partenaires de l'Assurance Maladie"
    )


def test_the_selected_organisme_is_shown_and_leads_to_the_change_of_organisme(client):
    partner_with_organisme(client, nom="CPAM LOT ET GARONNE")

    page = elements(client.get(HOME_URL))

    (link,) = page.find("a", **{"class": "selected-organisme"})
    assert link["href"] == SELECTION_URL
    assert "CPAM LOT ET GARONNE" in page.text("selected-organisme")


def test_the_person_card_shows_the_name_the_structure_and_a_log_out_button(client):
    partner_with_organisme(client)

    response = client.get(HOME_URL)

    card = response.text.split('<details class="person-card">', 1)[1].split("</details>", 1)[0]
    page = elements(response)
    assert page.text("summary") == "Paul FORT"
    assert "LES RESTOS DU COEUR" in page.text("person-card")
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', card, re.S)
    assert form is not None
    assert form.group(1) == LOGOUT_URL
    assert 'name="csrfmiddlewaretoken"' in form.group(2)
    assert "Se déconnecter" in form.group(2)


def test_the_log_out_button_works_with_csrf_checks_on():
    client = Client(enforce_csrf_checks=True)
    partner_with_organisme(client)
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(HOME_URL).text
    ).group(1)

    assert client.post(LOGOUT_URL).status_code == 403  # no token: refused, still logged in
    assert "_auth_user_id" in client.session
    response = client.post(LOGOUT_URL, {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert response.url == LOGIN_URL
    assert "_auth_user_id" not in client.session


def test_logging_out_is_not_possible_with_a_mere_link(client):
    partner_with_organisme(client)

    response = client.get(LOGOUT_URL)

    assert response.status_code == 405
    assert "_auth_user_id" in client.session


def test_the_menu_of_the_role_is_shown_once_an_organisme_is_selected(client):
    partner_with_organisme(client)

    page = elements(client.get(HOME_URL))

    (menu,) = page.find("nav", **{"class": "menu"})
    assert menu["aria-label"] == "Menu principal"
    assert page.find("a", href=HOME_URL, **{"aria-current": "page"})


def test_no_menu_nor_organisme_before_an_organisme_is_selected(client):
    structure = StructureFactory()
    ConventionFactory(structure=structure, organisme=OrganismeFactory(nom="CPAM GIRONDE"))
    ConventionFactory(structure=structure, organisme=OrganismeFactory(nom="CPAM OISE"))
    client.force_login(GestionnaireFactory(structure=structure))

    response = client.get(SELECTION_URL)

    page = elements(response)
    assert page.find("nav", **{"class": "menu"}) == []
    assert page.find("a", **{"class": "selected-organisme"}) == []
    assert page.find("details", **{"class": "person-card"})


# --- Home page of each role ------------------------------------------------------------------


def test_the_gestionnaire_home_counts_the_active_techniciens_against_the_maximum(client):
    user, convention = partner_with_organisme(client, max_techniciens=5)
    for _ in range(3):
        TechnicienFactory(structure=user.structure)
    TechnicienFactory(structure=user.structure, is_active=False, inactivated_at=timezone.now())
    TechnicienFactory()  # another structure's
    GestionnaireFactory(structure=user.structure)

    response = client.get(HOME_URL)

    assert "3 comptes techniciens actifs sur 5 autorisés par la convention." in response.text
    assert "Vous êtes connecté(e) en tant que gestionnaire partenaire de LES RESTOS DU COEUR." in (
        response.text
    )
    assert convention.reference in response.text


def test_the_gestionnaire_home_says_one_active_technicien_in_the_singular(client):
    user, _convention = partner_with_organisme(client, max_techniciens=5)
    TechnicienFactory(structure=user.structure)

    response = client.get(HOME_URL)

    assert "1 compte technicien actif sur 5 autorisés par la convention." in response.text


def test_the_gestionnaire_home_says_one_authorised_technicien_in_the_singular(client):
    user, _convention = partner_with_organisme(client, max_techniciens=1)
    TechnicienFactory(structure=user.structure)

    response = client.get(HOME_URL)

    assert "1 compte technicien actif sur 1 autorisé par la convention." in response.text


def test_a_technicien_with_a_convention_a_venir_is_told_from_when_demandes_can_be_made(client):
    partner_with_organisme(client, factory=TechnicienFactory, date_debut=D(2026, 4, 1))

    response = client.get(HOME_URL)

    assert (
        "Vous pourrez déposer des demandes à partir du 1 avril 2026, date de début de la "
        "convention." in response.text
    )
    assert "À venir" in response.text
    assert "comptes techniciens actifs" not in response.text


def test_a_technicien_with_a_convention_en_cours_is_not_told_to_wait(client):
    partner_with_organisme(client, factory=TechnicienFactory)

    response = client.get(HOME_URL)

    assert "Vous êtes connecté(e) en tant que technicien partenaire de LES RESTOS DU COEUR." in (
        response.text
    )
    assert "Vous pourrez déposer des demandes" not in response.text
    assert "En cours" in response.text


def test_a_gestionnaire_with_a_convention_a_venir_may_already_create_technicien_accounts(client):
    partner_with_organisme(client, date_debut=days(20))

    response = client.get(HOME_URL)

    assert "Vous pouvez dès maintenant créer les comptes de vos techniciens" in response.text
    assert "Vous pourrez déposer des demandes" not in response.text


# --- Messages --------------------------------------------------------------------------------


def test_a_confirmation_message_is_announced_as_a_status(client):
    partner_with_organisme(client)

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "Un-Autre-Mot-De-Passe-99",
            "new_password2": "Un-Autre-Mot-De-Passe-99",
        },
        follow=True,
    )

    assert response.redirect_chain == [(HOME_URL, 302)]
    assert (
        '<p class="message message-success" role="status">'
        "Votre nouveau mot de passe est enregistré.</p>" in response.text
    )


def test_a_warning_message_is_announced_as_an_alert(client):
    structure = StructureFactory()
    ConventionFactory(
        structure=structure,
        organisme=OrganismeFactory(nom="CPAM GIRONDE"),
        date_debut=days(-300),
        date_fin=days(3),
    )
    client.force_login(GestionnaireFactory(structure=structure))

    response = client.get(HOME_URL, follow=True)

    assert re.search(
        r'<p class="message message-warning" role="alert">Votre convention avec CPAM GIRONDE '
        r"se termine le 13 mars 2026",
        response.text,
    )
    # Shown once.
    assert "message-warning" not in client.get(HOME_URL).text


# --- Error pages in French -------------------------------------------------------------------


def test_an_unknown_address_gives_the_french_404_page_to_a_logged_in_partner(client):
    partner_with_organisme(client)

    response = client.get("/cette-page-n-existe-pas/")

    assert response.status_code == 404
    assert "<h1>Page introuvable</h1>" in response.text
    assert '<html lang="fr">' in response.text
    assert "Retour à l'accueil" in response.text
    assert "Paul FORT" in response.text  # the portal's shell


def test_an_unknown_address_gives_the_french_404_page_to_anonymous_visitors(client):
    response = client.get("/cette-page-n-existe-pas/")

    assert response.status_code == 404
    assert "<h1>Page introuvable</h1>" in response.text
    assert "Cette page n'existe pas ou vous n'y avez pas accès." in response.text
    assert "Se déconnecter" not in response.text


def test_the_500_page_is_in_french_and_stands_alone():
    html = loader.render_to_string("500.html")

    assert '<html lang="fr">' in html
    assert "<h1>Le service rencontre un problème</h1>" in html
    assert "Une erreur inattendue est survenue ; elle a été signalée." in html
    assert "Erreur du service — Espace Partenaires" in html


def test_an_agent_opening_the_organisme_selection_gets_the_french_403_page(client):
    log_in_verified(client, AgentFactory())

    response = client.get(SELECTION_URL)

    assert response.status_code == 403
    assert "<h1>Accès refusé</h1>" in response.text
    assert "Vous n'avez pas accès à cette page." in response.text
    assert f'<a href="{reverse("admin:index")}">Aller à l\'administration</a>' in response.text


# --- Security headers ------------------------------------------------------------------------

PUBLIC_PAGES = ["/connexion/", "/mot-de-passe-oublie/", "/cgu/", "/aide/"]
PORTAL_PAGES = ["/", "/organisme/", "/mot-de-passe/"]


def csp_directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {
        name: sources
        for name, *sources in (part.split() for part in header.split(";") if part.strip())
    }


def assert_secure_headers(response):
    assert response.status_code == 200
    header = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'self'" in directives["script-src"]
    nonces = {s for s in directives["script-src"] if s != "'self'"}
    assert all(re.fullmatch(r"'nonce-[\w+/=-]+'", nonce) for nonce in nonces), nonces
    assert len(nonces) <= 1
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The page works under this policy: no inline style, every script carries the nonce.
    assert "style=" not in response.text
    assert "<style" not in response.text
    for script in re.findall(r"<script\b[^>]*>", response.text):
        nonce = re.search(r'nonce="([^"]+)"', script)
        assert nonce is not None, script
        assert f"'nonce-{nonce.group(1)}'" in nonces


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_send_the_security_headers(client, url):
    assert_secure_headers(client.get(url))


@pytest.mark.parametrize("url", PORTAL_PAGES)
def test_portal_pages_send_the_security_headers(client, url):
    structure = StructureFactory()
    ConventionFactory(structure=structure)
    ConventionFactory(structure=structure)
    client.force_login(GestionnaireFactory(structure=structure))
    client.post(SELECTION_URL, {"organisme": structure.conventions.first().organisme_id})

    assert_secure_headers(client.get(url))


def test_the_admin_sends_the_security_headers_to_an_agent(client):
    log_in_verified(client, AgentFactory())

    response = client.get(reverse("admin:index"))

    assert_secure_headers(response)
    assert "script-src" in csp_directives(response)


def test_error_pages_send_the_security_headers(client):
    response = client.get("/cette-page-n-existe-pas/")

    assert response.status_code == 404
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_page_or_file_served_to_a_logged_in_person_may_be_cached(client, attachments_dir):
    """Insured persons' names and situations, and their attachments: never in a shared
    computer's browser cache nor in a proxy's."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from demandes.attachments import AttachmentsField
    from demandes.models import PieceJointe
    from tests.helpers import PDF, make_demande, with_all_offres

    convention = with_all_offres()
    technicien = TechnicienFactory(structure=convention.structure)
    uploads = AttachmentsField().clean(
        [SimpleUploadedFile("attestation.pdf", PDF, content_type="application/pdf")]
    )
    demande = make_demande(technicien, convention, uploads=uploads)
    piece = PieceJointe.objects.get(demande=demande)
    client.force_login(technicien)
    client.get(SELECTION_URL)

    for url in (
        HOME_URL,
        reverse("demandes:list"),
        reverse("demandes:detail", args=[demande.pk]),
        reverse("demandes:piece", args=[piece.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response.headers["Cache-Control"], url
        assert "private" in response.headers["Cache-Control"], url
        if response.streaming:
            assert b"".join(response.streaming_content) == PDF  # read to the end, and closed


def test_the_browsers_favicon_is_the_portals_mark_served_as_a_file(client, caplog):
    # Every browser asks for /favicon.ico on its first visit: a file (whitenoise, no view, no
    # query, no "Not Found" warning), drawn from the mark of the header (_marque.html).
    with caplog.at_level("WARNING"):
        response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert "max-age=" in response["Cache-Control"]
    icon = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32), (48, 48)} <= icon.info["sizes"]
    assert icon.convert("RGB").getpixel((24, 4)) == (12, 65, 154)  # the mark's blue, #0c419a
    assert caplog.records == []
