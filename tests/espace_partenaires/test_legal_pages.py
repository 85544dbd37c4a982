"""Issue 17, item 4 (SPEC §10): the four legal pages, public, linked from the footer of every
page of the portal, of its log-in page and of the admin's; the personal-data page shows the
retention delays of the settings and organismes in force; docs/data-protection.md lists them."""

import datetime
import html
import re
from pathlib import Path

import pytest
from django.urls import reverse

from espace_partenaires.retention import retention_delays
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    TechnicienFactory,
)
from tests.helpers import log_in_verified

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
LEGAL_PAGES = {
    "/accessibilite/": "Déclaration d'accessibilité",
    "/mentions-legales/": "Mentions légales",
    "/donnees-personnelles/": "Données personnelles",
    "/plan-du-site/": "Plan du site",
}
PERSONAL_DATA_URL = "/donnees-personnelles/"


def text(fragment: str) -> str:
    """The words of an HTML fragment, as a reader gets them: tags gone, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def footer(response) -> str:
    found = re.findall(r"<footer\b.*?</footer>", response.content.decode(), flags=re.S)
    assert len(found) == 1, found
    return found[0]


def footer_links(response) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', footer(response)))


def row(response, data: str) -> str:
    """The text of the entry of the personal-data page whose heading says `data`."""
    rows = [
        text(found)
        for found in re.findall(
            r'<section class="retention-entry".*?</section>', response.content.decode(), flags=re.S
        )
        if text(found).startswith(data)
    ]
    assert len(rows) == 1, (data, rows)
    return rows[0]


def main(response) -> str:
    return text(re.search(r"<main\b.*?</main>", response.content.decode(), flags=re.S).group(0))


# --- Public, each with its title -------------------------------------------------------------


@pytest.mark.parametrize(("url", "title"), LEGAL_PAGES.items())
def test_each_legal_page_opens_without_a_log_in(client, url, title):
    response = client.get(url)

    assert response.status_code == 200
    assert f"<h1>{title}</h1>" in html.unescape(response.content.decode())
    assert f"<title>{title} — Espace Partenaires</title>" in html.unescape(
        response.content.decode()
    )
    assert "Se déconnecter" not in response.content.decode()


@pytest.mark.parametrize("url", LEGAL_PAGES)
def test_a_partner_logged_in_reads_them_too(client, url):
    gestionnaire = GestionnaireFactory()
    ConventionFactory(structure=gestionnaire.structure)
    client.force_login(gestionnaire)

    response = client.get(url)

    assert response.status_code == 200
    assert "Se déconnecter" in response.content.decode()


# --- In the footer of every page -------------------------------------------------------------


def assert_legal_footer(response):
    assert response.status_code == 200
    assert set(LEGAL_PAGES) <= footer_links(response)
    words = text(footer(response))
    assert "Accessibilité : non conforme" in words
    for title in ("Mentions légales", "Données personnelles", "Plan du site"):
        assert title in words


@pytest.mark.parametrize(
    "url", ["/connexion/", "/mot-de-passe-oublie/", "/cgu/", "/aide/", "/contact/", *LEGAL_PAGES]
)
def test_the_footer_of_the_public_pages_links_the_legal_pages(client, url):
    assert_legal_footer(client.get(url))


def test_the_footer_of_the_page_not_found_links_them(client):
    response = client.get("/cette-page-n-existe-pas/")

    assert response.status_code == 404
    assert set(LEGAL_PAGES) <= footer_links(response)


@pytest.mark.parametrize("role", ["gestionnaire", "technicien"])
def test_the_footer_of_the_portal_pages_of_a_partner_links_them(client, role):
    factory = GestionnaireFactory if role == "gestionnaire" else TechnicienFactory
    account = factory()
    convention = ConventionFactory(structure=account.structure)
    client.force_login(account)
    client.post(reverse("accounts:organisme_selection"), {"organisme": convention.organisme_id})

    for url in ("/", "/demandes/", "/mot-de-passe/"):
        assert_legal_footer(client.get(url))


def test_the_footer_of_the_admin_log_in_page_links_them(client):
    assert_legal_footer(client.get("/admin/login/"))


def test_the_footer_of_the_admin_pages_links_them(client):
    log_in_verified(client, AgentFactory())

    for url in ("/admin/", "/admin/demandes/demande/", "/admin/password_change/"):
        assert_legal_footer(client.get(url))


# --- Données personnelles: the delays in force -----------------------------------------------


def test_the_personal_data_page_shows_the_delays_of_the_default_settings(client):
    response = client.get(PERSONAL_DATA_URL)

    assert "6 mois après l'inactivation du compte" in row(response, "Comptes des partenaires")
    invitations = row(response, "Liens d'invitation")
    assert "72 heures" in invitations
    assert "30 jours" in invitations
    assert "30 minutes d'inactivité" in row(response, "Sessions")
    assert "30 minutes" in row(response, "Tentatives de connexion échouées")
    assert "12 mois après l'envoi" in row(response, "Journal des e-mails envoyés")
    assert "12 mois" in row(response, "Pré-inscriptions et messages de contact")


def test_the_personal_data_page_follows_the_settings_in_force(client, settings):
    settings.INVITATION_TIMEOUT_HOURS = 48
    settings.SESSION_COOKIE_AGE = 45 * 60
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=20)
    settings.EMAIL_LOG_RETENTION_MONTHS = 7
    settings.INSCRIPTION_RETENTION_MONTHS = 9
    settings.JOB_TIME_PURGE_EMAIL_LOG = "05:10"

    response = client.get(PERSONAL_DATA_URL)

    assert "48 heures" in row(response, "Liens d'invitation")
    assert "45 minutes d'inactivité" in row(response, "Sessions")
    assert "20 minutes" in row(response, "Tentatives de connexion échouées")
    email_log = row(response, "Journal des e-mails envoyés")
    assert "7 mois après l'envoi" in email_log
    assert "12 mois" not in email_log
    assert "purge_sent_email_log" in email_log
    assert "05:10" in email_log
    assert "9 mois" in row(response, "Pré-inscriptions et messages de contact")


def test_the_personal_data_page_follows_each_organisme_s_purge_delay(client):
    gironde = OrganismeFactory(nom="CPAM GIRONDE")
    oise = OrganismeFactory(nom="CPAM OISE")
    OrganismeFactory(nom="CPAM LOT ET GARONNE")
    accounts = row(client.get(PERSONAL_DATA_URL), "Comptes des partenaires")
    assert "6 mois après l'inactivation du compte" in accounts
    assert "CPAM GIRONDE" not in accounts  # at the default delay: counted, not listed

    gironde.delai_purge_mois = 3
    gironde.save()
    oise.delai_purge_mois = 3
    oise.save()
    accounts = row(client.get(PERSONAL_DATA_URL), "Comptes des partenaires")

    assert "3 mois pour CPAM GIRONDE, CPAM OISE" in accounts
    assert "6 mois" in accounts
    assert "1 organisme" in accounts
    assert "le plus court" in accounts


@pytest.mark.parametrize("count", [2, 20])
def test_the_personal_data_page_takes_the_same_queries_however_many_organismes(
    client, count, django_assert_num_queries
):
    for number in range(count):
        OrganismeFactory(delai_purge_mois=3 + number % 4)

    # The organismes and their delays, in one query.
    with django_assert_num_queries(1):
        response = client.get(PERSONAL_DATA_URL)

    assert response.status_code == 200


def test_the_personal_data_page_shows_the_unused_accounts_and_reviews_delays_in_force(
    client, settings
):
    response = client.get(PERSONAL_DATA_URL)
    assert "6 mois sans connexion" in row(response, "Comptes inutilisés des partenaires")
    assert "15 jours" in row(response, "Comptes inutilisés des partenaires")
    assert "tous les 6 mois" in row(response, "Revues des habilitations")

    settings.DORMANT_ACCOUNT_MONTHS = 9
    settings.DORMANT_NOTICE_DAYS = 21
    settings.HABILITATION_REVIEW_MONTHS = 4
    response = client.get(PERSONAL_DATA_URL)
    assert "9 mois sans connexion" in row(response, "Comptes inutilisés des partenaires")
    assert "21 jours" in row(response, "Comptes inutilisés des partenaires")
    assert "tous les 4 mois" in row(response, "Revues des habilitations")


def test_the_personal_data_page_shows_the_demandes_and_access_log_delays_in_force(client, settings):
    OrganismeFactory(nom="CPAM OISE", delai_conservation_demandes_mois=36)
    OrganismeFactory(nom="CPAM GIRONDE")
    settings.ACCESS_LOG_RETENTION_MONTHS = 18

    response = client.get(PERSONAL_DATA_URL)

    demandes = row(response, "Demandes pour les assurés")
    assert "24 mois après leur clôture" in demandes
    assert "36 mois pour CPAM OISE" in demandes
    assert "18 mois" in row(response, "Journal des accès des agents")
    assert "tant que l'objet existe" in row(response, "Historique des modifications")


def test_the_personal_data_page_names_the_dpo_and_the_rights(client, settings):
    settings.DPO_CONTACT_EMAIL = "dpo@cpam-gironde.example"

    words = main(client.get(PERSONAL_DATA_URL))

    assert "dpo@cpam-gironde.example" in words
    assert "article 6-1-e" in words
    for right in ("accès", "rectification", "effacement", "limitation", "opposition"):
        assert right in words
    assert "CNIL" in words


def test_retention_delays_are_one_function_whose_rows_say_where_they_are_enforced():
    rows = retention_delays()

    assert [r.data for r in rows][:2] == ["Comptes des partenaires", "Comptes des agents de caisse"]
    assert all(r.data and r.purpose and r.legal_basis and r.delay and r.enforced_by for r in rows)


def test_the_register_of_docs_names_every_row_of_the_page_and_its_job():
    register = (ROOT / "docs" / "data-protection.md").read_text()

    for entry in retention_delays():
        assert entry.data in register, entry.data
        if entry.job:
            assert f"`{entry.job}`" in register, entry.job


# --- Mentions légales and the accessibility statement: from the settings ----------------------


def test_the_legal_notice_names_the_publisher_director_and_host_of_the_settings(client, settings):
    settings.LEGAL_PUBLISHER = "CPAM de la Gironde"
    settings.LEGAL_PUBLISHER_ADDRESS = "Place de l'Europe, 33085 Bordeaux Cedex"
    settings.LEGAL_PUBLISHER_PHONE = "36 46"
    settings.LEGAL_DIRECTOR = "Madame la directrice de la CPAM de la Gironde"
    settings.LEGAL_HOST = "Hébergeur Souverain SAS"
    settings.LEGAL_HOST_ADDRESS = "1 rue du Centre de données, 59000 Lille"
    settings.LEGAL_HOST_PHONE = "03.20.00.00.00"

    words = main(client.get("/mentions-legales/"))

    for value in (
        "CPAM de la Gironde",
        "Place de l'Europe, 33085 Bordeaux Cedex",
        "36 46",
        "Madame la directrice de la CPAM de la Gironde",
        "Hébergeur Souverain SAS",
        "1 rue du Centre de données, 59000 Lille",
        "03.20.00.00.00",
    ):
        assert value in words, value


def test_the_accessibility_statement_follows_the_rgaa_model(client, settings):
    settings.ACCESSIBILITY_CONTACT_EMAIL = "accessibilite@cpam-gironde.example"

    words = main(client.get("/accessibilite/"))

    assert "RGAA" in words and "4.1" in words
    assert "non conforme" in words
    assert "axe-core" in words and "Chromium" in words and "360 px" in words
    assert "Établie le 1er décembre 2026" in words
    assert "accessibilite@cpam-gironde.example" in words
    assert "Défenseur des droits" in words
    assert "Libre réponse 71120, 75342 Paris CEDEX 07" in words
    assert "09 69 39 00 00" in words
    content = client.get("/accessibilite/").content.decode()
    assert 'href="https://formulaire.defenseurdesdroits.fr/"' in content
    assert reverse("inscriptions:contact") in content


# --- Plan du site ----------------------------------------------------------------------------


def links(response) -> set[str]:
    return set(
        re.findall(
            r'href="([^"]+)"',
            re.search(r"<main\b.*?</main>", response.content.decode(), flags=re.S).group(0),
        )
    )


def test_the_site_map_links_every_public_page_and_names_the_others(client):
    response = client.get("/plan-du-site/")

    assert {
        "/connexion/",
        "/mot-de-passe-oublie/",
        "/identifiant-oublie/",
        "/pre-inscription/",
        "/contact/",
        "/cgu/",
        "/aide/",
        "/aide/gestionnaire/",
        "/aide/technicien/",
        "/aide/agent/",
        *LEGAL_PAGES,
    } <= links(response)
    words = main(response)
    assert "Gestion des comptes" in words and "Nouvelle demande" in words
    assert "/comptes/" not in links(response)
    assert "/demandes/" not in links(response)


def test_the_site_map_links_the_pages_of_the_visitor_s_role(client):
    gestionnaire = GestionnaireFactory()
    ConventionFactory(structure=gestionnaire.structure)
    client.force_login(gestionnaire)

    found = links(client.get("/plan-du-site/"))

    assert {"/", "/comptes/", "/comptes/ajouter/", "/demandes/", "/ma-structure/"} <= found
    assert "/demandes/nouvelle/" not in found
    assert "/admin/" not in found
    # The structure's demandes under the name its menu gives them (issue 19, item 9).
    assert "Demandes de la structure" in main(client.get("/plan-du-site/"))


def test_the_site_map_of_a_technicien(client):
    technicien = TechnicienFactory()
    ConventionFactory(structure=technicien.structure)
    client.force_login(technicien)

    found = links(client.get("/plan-du-site/"))

    assert {reverse("demandes:choose"), "/demandes/"} <= found
    assert "/comptes/" not in found


def test_the_site_map_of_an_agent_links_the_admin(client):
    log_in_verified(client, AgentFactory())

    found = links(client.get("/plan-du-site/"))

    assert "/admin/" in found
    assert "/comptes/" not in found
