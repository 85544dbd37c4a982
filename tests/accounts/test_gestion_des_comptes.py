"""SPEC §3–4 and chapter IV of the gestionnaire manual: "Gestion des comptes", the gestionnaire's
management of the structure's technicien accounts (list, creation, modification, history, export)
and who may reach each of its pages."""

import csv
import datetime
import html as html_module
import io
import re
import zoneinfo
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEvent, Civilite, Role, User
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    TechnicienFactory,
)
from tests.helpers import EMAIL_TAKEN_HERE, EMAIL_UNAVAILABLE, log_in, log_in_verified

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SITE_URL = "http://127.0.0.1:8000"
LINK_RE = re.compile(r"http://127\.0\.0\.1:8000(/invitation/[A-Za-z0-9_-]+/)")
SET_PASSWORD_URL = "/invitation/creer-mot-de-passe/"
NEW_PASSWORD = "Cerisier-Bleu-Lanterne-71"

LIST_URL = reverse("accounts:techniciens")
CREATE_URL = reverse("accounts:technicien_create")
EXPORT_URL = reverse("accounts:accounts_export")
OBJECT_URL_NAMES = (
    "technicien_modify",
    "technicien_inactivate",
    "technicien_reactivate",
    "technicien_resend_invitation",
    "technicien_history",
)

MARYSE = {
    "civilite": "MME",
    "nom_patronymique": "PICHON",
    "nom_usuel": "",
    "prenom": "Maryse",
    "fonction": "Bénévole",
    "telephone": "07.00.00.00.00",
    "email": "maryse.pichon@assurance-maladie.fr",
}
VICTOR = {
    "civilite": "M",
    "nom_patronymique": "CHAUSSON",
    "nom_usuel": "",
    "prenom": "Victor",
    "fonction": "bénévole",
    "telephone": "07.00.00.00.00",
    "email": "victor.chausson@assurance-maladie.fr",
}


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE_URL


# --- Helpers --------------------------------------------------------------------------------


def select_organisme(client, organisme=None):
    """What a partner does right after log-in: one convention is selected without asking."""
    url = reverse("accounts:organisme_selection")
    if organisme is None:
        response = client.get(url)
    else:
        response = client.post(url, {"organisme": organisme.pk})
    assert response.status_code == 302, response
    assert client.session.get("organisme_id") is not None


def logged_in_client(user, organisme=None) -> Client:
    client = Client()
    log_in_verified(client, user)
    select_organisme(client, organisme)
    return client


def squeeze(text: str) -> str:
    """Text as a browser shows it: runs of white space are one space."""
    return " ".join(text.split())


def messages_of(response) -> list[str]:
    return [squeeze(str(message)) for message in response.context["messages"]]


def inactive(**fields) -> User:
    return TechnicienFactory(
        is_active=False, inactivated_at=datetime.datetime(2026, 1, 5, 10, 0, tzinfo=PARIS), **fields
    )


class AccountRows(HTMLParser):
    """Each <li class="account …"> of the list: its texts, its "Modifier" link and its switch."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: list[dict] = []
        self._row: dict | None = None
        self._depth = 0
        self._capture: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "li" and "account" in classes:
            self._row = {
                "classes": classes,
                "name": "",
                "facts": [],
                "links": [],
                "switch": None,
                "text": "",
            }
            self._depth = 0
        if self._row is None:
            return
        if tag == "li":
            self._depth += 1
        if tag == "p" and "account-name" in classes:
            self._capture = "name"
        elif tag == "dd":
            self._row["facts"].append("")
            self._capture = "facts"
        elif tag == "a":
            self._row["links"].append({"href": attrs.get("href"), "text": ""})
            self._capture = "links"
        elif tag == "button" and attrs.get("role") == "switch":
            self._row["switch"] = attrs

    def handle_endtag(self, tag):
        if self._row is None:
            return
        if tag in ("p", "dd", "a"):
            self._capture = None
        if tag == "li":
            self._depth -= 1
            if self._depth == 0:
                self.rows.append(self._row)
                self._row = None

    def handle_data(self, data):
        if self._row is None:
            return
        self._row["text"] += data
        if self._capture == "name":
            self._row["name"] += data
        elif self._capture == "facts":
            self._row["facts"][-1] += data
        elif self._capture == "links":
            self._row["links"][-1]["text"] += data


def rows_of(response) -> list[dict]:
    assert response.status_code == 200
    return AccountRows(response.text).rows


def names_in(response) -> list[str]:
    return [squeeze(row["name"]) for row in rows_of(response)]


class TableRows(HTMLParser):
    """The text of each cell of each <tbody> row."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._cell = []
        elif tag == "li" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(squeeze("".join(self._cell)))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def count_queries(client, url: str) -> int:
    client.get(url)  # the first request of a session may do one-off work
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture
def convention():
    return ConventionFactory(organisme=OrganismeFactory(nom="CPAM GIRONDE"))


@pytest.fixture
def structure(convention):
    return convention.structure


@pytest.fixture
def gestionnaire(structure):
    return GestionnaireFactory(
        structure=structure,
        prenom="Jeanne",
        nom_patronymique="DURAND",
        email="jeanne.durand@ccas.example",
    )


@pytest.fixture
def client_g(gestionnaire):
    """The gestionnaire, logged in, CPAM GIRONDE selected."""
    return logged_in_client(gestionnaire)


@pytest.fixture
def create(client_g, django_capture_on_commit_callbacks):
    """Submit the creation form as the gestionnaire, e-mails sent after commit."""

    def submit(data, client=None):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or client_g).post(CREATE_URL, data, follow=True)

    return submit


@pytest.fixture
def other_structure():
    return ConventionFactory().structure


@pytest.fixture
def foreign_technicien(other_structure):
    """A technicien of another structure (B), never reachable by structure A's gestionnaire."""
    GestionnaireFactory(structure=other_structure)
    TechnicienFactory(structure=other_structure, nom_patronymique="TIERS", prenom="Bruno")
    return TechnicienFactory(
        structure=other_structure, nom_patronymique="ETRANGER", prenom="Alice", password=None
    )


# --- 1. The list ----------------------------------------------------------------------------


def test_the_list_shows_only_the_techniciens_of_the_gestionnaires_structure(
    client_g, structure, other_structure
):
    TechnicienFactory(structure=structure, nom_patronymique="PICHON", prenom="Maryse")
    GestionnaireFactory(structure=structure, nom_patronymique="ABEL", prenom="Arnaud")
    TechnicienFactory(structure=other_structure, nom_patronymique="ALBERT", prenom="Anne")
    GestionnaireFactory(structure=other_structure, nom_patronymique="AUTRE", prenom="Gina")

    names = names_in(client_g.get(LIST_URL))

    assert names == ["Madame PICHON Maryse"]


def test_active_techniciens_come_first_alphabetically_then_the_inactive_ones(client_g, structure):
    TechnicienFactory(structure=structure, nom_patronymique="DURAND", prenom="Luc")
    TechnicienFactory(
        structure=structure, nom_patronymique="ZOLA", nom_usuel="MARTIN", prenom="Maryse"
    )
    TechnicienFactory(structure=structure, nom_patronymique="BERNARD", prenom="Paul")
    TechnicienFactory(structure=structure, nom_patronymique="BERNARD", prenom="Anne")
    TechnicienFactory(
        structure=structure, nom_patronymique="ABADIE", nom_usuel="NOEL", prenom="Zoé"
    )
    inactive(structure=structure, nom_patronymique="CARON", prenom="Jean")
    inactive(structure=structure, nom_patronymique="AUBERT", prenom="Hugo")

    response = client_g.get(LIST_URL)

    assert names_in(response) == [
        "Madame BERNARD Anne",
        "Madame BERNARD Paul",
        "Madame DURAND Luc",
        "Madame MARTIN Maryse",
        "Madame NOEL Zoé",
        "Madame AUBERT Hugo",
        "Madame CARON Jean",
    ]
    states = [("account-active" in row["classes"]) for row in rows_of(response)]
    assert states == [True] * 5 + [False] * 2


def test_each_row_shows_the_persons_details_a_modifier_button_and_a_switch(client_g, structure):
    victor = TechnicienFactory(
        structure=structure,
        identifiant="v.chausson2",
        civilite=Civilite.MONSIEUR,
        nom_patronymique="CHAUSSON",
        prenom="Victor",
        fonction="bénévole",
        telephone="07.00.00.00.00",
        email="victor.chausson@assurance-maladie.fr",
    )
    maryse = TechnicienFactory(
        structure=structure,
        identifiant="m.pichon",
        nom_patronymique="PICHON",
        prenom="Maryse",
        telephone="06.00.00.00.00",
        email="maryse.pichon@assurance-maladie.fr",
    )
    old = inactive(structure=structure, nom_patronymique="VIEUX", prenom="Marc")

    victor_row, maryse_row, old_row = rows_of(client_g.get(LIST_URL))

    assert victor_row["name"].strip() == "Monsieur CHAUSSON Victor"
    assert victor_row["facts"] == [
        "v.chausson2",
        "07.00.00.00.00",
        "bénévole",
        "victor.chausson@assurance-maladie.fr",
    ]
    assert maryse_row["facts"][:2] == ["m.pichon", "06.00.00.00.00"]
    for row, account in ((victor_row, victor), (maryse_row, maryse), (old_row, old)):
        modify = [link for link in row["links"] if link["text"].startswith("Modifier")]
        assert [link["href"] for link in modify] == [
            reverse("accounts:technicien_modify", args=[account.pk])
        ]
    assert victor_row["switch"]["aria-checked"] == "true"
    assert maryse_row["switch"]["aria-checked"] == "true"
    assert old_row["switch"]["aria-checked"] == "false"
    assert "disabled" not in victor_row["switch"]
    assert "account-inactive" in old_row["classes"]


def test_the_quota_sentence_counts_active_techniciens_against_the_strictest_convention(
    structure, gestionnaire
):
    # Two conventions of the structure, with different quotas: the strictest counts, whichever
    # organisme is selected (SPEC §10).
    oise = ConventionFactory(
        structure=structure, organisme=OrganismeFactory(nom="CPAM DE L'OISE"), max_techniciens=3
    )
    TechnicienFactory.create_batch(2, structure=structure)
    inactive(structure=structure)

    client = logged_in_client(gestionnaire, organisme=oise.organisme)
    response = client.get(LIST_URL)

    assert "2 comptes techniciens actifs sur 3 autorisés par la convention." in response.text

    select_organisme(client, structure.conventions.exclude(pk=oise.pk).get().organisme)
    response = client.get(LIST_URL)

    assert "2 comptes techniciens actifs sur 3 autorisés par la convention." in response.text
    # The home page says the same.
    home = squeeze(client.get(reverse("home")).text)
    assert "2 comptes techniciens actifs sur 3 autorisés par la convention." in home


def test_with_no_technicien_the_list_says_what_to_do_next(client_g):
    """Issue 19, item 8: a real empty state, plurals by count, and no warning about a last
    active technicien that does not exist."""
    html = squeeze(client_g.get(LIST_URL).text)

    # Zero is "aucun", not a plural form that French and gettext's fallback disagree on.
    assert "Aucun compte technicien actif sur 5 autorisés par la convention." in html
    assert "(s)" not in html
    assert "Aucun compte technicien pour l'instant" in html
    assert f'<a href="{CREATE_URL}">Créer un compte technicien</a>' in html
    assert "Le dernier compte technicien actif ne peut pas être inactivé" not in html


def test_with_one_technicien_the_count_is_singular_and_the_last_one_is_protected(
    client_g, structure
):
    TechnicienFactory(structure=structure)

    html = squeeze(client_g.get(LIST_URL).text)

    assert "1 compte technicien actif sur 5 autorisés par la convention." in html
    assert "Le dernier compte technicien actif ne peut pas être inactivé" in html


def test_the_add_button_is_shown_below_the_quota_and_hidden_once_it_is_reached(client_g, structure):
    TechnicienFactory.create_batch(4, structure=structure)
    inactive(structure=structure)

    response = client_g.get(LIST_URL)
    assert "Ajouter un technicien" in response.text
    assert f'href="{CREATE_URL}"' in response.text

    TechnicienFactory(structure=structure)
    response = client_g.get(LIST_URL)

    assert "5 comptes techniciens actifs sur 5" in response.text
    assert "Ajouter un technicien" not in response.text
    assert f'href="{CREATE_URL}"' not in response.text
    assert "Le nombre maximum de techniciens actifs prévu par la convention est atteint" in (
        response.text
    )


def test_the_switch_of_the_only_active_technicien_is_disabled_with_an_explanation(
    client_g, structure
):
    TechnicienFactory(structure=structure, nom_patronymique="MARTIN", prenom="Maryse")
    inactive(structure=structure, nom_patronymique="CHAUSSON", prenom="Victor")

    response = client_g.get(LIST_URL)

    martin, chausson = rows_of(response)
    assert "disabled" in martin["switch"]
    assert martin["switch"]["aria-describedby"] == "last-active-help"
    assert 'id="last-active-help"' in response.text
    assert "Le dernier compte technicien actif ne peut pas être inactivé" in response.text
    assert "disabled" not in chausson["switch"]  # it may be reactivated


def test_with_two_active_techniciens_no_switch_is_disabled(client_g, structure):
    TechnicienFactory.create_batch(2, structure=structure)

    response = client_g.get(LIST_URL)

    assert [("disabled" in row["switch"]) for row in rows_of(response)] == [False, False]
    assert 'id="last-active-help"' not in response.text


def test_the_gestion_des_comptes_menu_entry_is_for_gestionnaires_only(
    client_g, structure, convention
):
    menu_link = f'<a href="{LIST_URL}"'

    response = client_g.get(reverse("home"))
    assert response.status_code == 200
    assert menu_link in response.text
    assert "Gestion des comptes" in response.text

    technicien_client = logged_in_client(TechnicienFactory(structure=structure))
    response = technicien_client.get(reverse("home"))
    assert response.status_code == 200
    assert menu_link not in response.text
    assert "Gestion des comptes" not in response.text


# --- 2. Creation ----------------------------------------------------------------------------


def test_creating_maryse_pichon_gives_m_pichon_and_sends_the_invitation(
    create, gestionnaire, structure
):
    response = create(MARYSE)

    assert response.redirect_chain == [(LIST_URL, 302)]
    maryse = User.objects.get(identifiant="m.pichon")
    assert maryse.role == Role.TECHNICIEN
    assert maryse.structure == structure
    assert maryse.created_by == gestionnaire
    assert maryse.is_active
    assert not maryse.has_usable_password()
    assert names_in(response) == ["Madame PICHON Maryse"]

    [email] = mail.outbox
    assert email.to == ["maryse.pichon@assurance-maladie.fr"]
    assert email.subject == "Bienvenue sur Espace Partenaires"
    assert "Bonjour Maryse PICHON," in email.body
    assert "votre compte TECHNICIEN partenaire est créé" in email.body
    assert "m.pichon" in email.body
    assert "Créer mon mot de passe" in email.body


def test_the_invitations_link_lets_the_new_technicien_create_a_password_and_log_in(create):
    create(MARYSE)
    [email] = mail.outbox
    [path] = set(LINK_RE.findall(email.body))

    browser = Client()
    response = browser.get(path)
    assert response.status_code == 302
    assert response["Location"] == SET_PASSWORD_URL
    response = browser.post(
        SET_PASSWORD_URL, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302

    assert log_in(browser, "m.pichon", NEW_PASSWORD)


def test_creation_shows_a_confirmation_message(create):
    response = create(MARYSE)

    assert messages_of(response) == [
        "Le compte de Maryse PICHON est créé avec l'identifiant m.pichon. Un e-mail l'invite à "
        "créer son mot de passe."
    ]


def test_a_second_victor_chausson_gets_v_chausson2(create, other_structure):
    # Identifiants are unique across structures, and an inactive account keeps its own.
    TechnicienFactory(
        structure=other_structure,
        identifiant="v.chausson",
        nom_patronymique="CHAUSSON",
        prenom="Vincent",
        is_active=False,
        inactivated_at=datetime.datetime(2026, 1, 5, tzinfo=PARIS),
    )

    create(VICTOR)

    victor = User.objects.get(email="victor.chausson@assurance-maladie.fr")
    assert victor.identifiant == "v.chausson2"
    [email] = mail.outbox
    assert "v.chausson2" in email.body


def test_creation_normalises_names_phone_and_email(create):
    create(
        {
            "civilite": "M",
            "nom_patronymique": "dupont",
            "nom_usuel": "de la fontaine",
            "prenom": "jean-pierre",
            "fonction": "Médiateur",
            "telephone": "06 12 34 56 78",
            "email": "Jean-Pierre.Dupont@Example.ORG",
        }
    )

    account = User.objects.get(role=Role.TECHNICIEN)
    assert account.nom_patronymique == "DUPONT"
    assert account.nom_usuel == "DE LA FONTAINE"
    assert account.prenom == "Jean-Pierre"
    assert account.telephone == "06.12.34.56.78"
    assert account.email == "jean-pierre.dupont@example.org"
    assert account.identifiant == "j.delafontaine"


def test_creation_without_any_nom_is_refused_next_to_nom_patronymique(create):
    response = create({**MARYSE, "nom_patronymique": "", "nom_usuel": ""})

    assert response.redirect_chain == []
    assert response.context["form"].errors == {
        "nom_patronymique": ["Renseignez au moins un des deux noms (patronymique ou usuel)."]
    }
    assert 'id="id_nom_patronymique_error"' in response.text
    assert 'value="Maryse"' in response.text
    assert 'value="maryse.pichon@assurance-maladie.fr"' in response.text
    assert not User.objects.filter(role=Role.TECHNICIEN).exists()
    assert mail.outbox == []


def test_an_invalid_phone_is_refused_in_french_and_the_input_is_kept(create):
    response = create({**MARYSE, "telephone": "07 00 00"})

    errors = response.context["form"].errors
    assert list(errors) == ["telephone"]
    assert errors["telephone"] == [
        "Saisissez un numéro de téléphone à 10 chiffres commençant par 0, par exemple "
        "07.00.00.00.00."
    ]
    assert 'id="id_telephone_error"' in response.text
    assert 'value="07 00 00"' in response.text
    assert 'value="PICHON"' in response.text
    assert not User.objects.filter(role=Role.TECHNICIEN).exists()
    assert mail.outbox == []


def test_too_long_noms_are_refused_in_french_and_the_input_is_kept(create):
    too_long = "A" * 31
    response = create({**MARYSE, "nom_patronymique": too_long, "nom_usuel": "B" * 31})

    errors = response.context["form"].errors
    assert set(errors) == {"nom_patronymique", "nom_usuel"}
    for field in ("nom_patronymique", "nom_usuel"):
        [message] = errors[field]
        assert "au plus 30 caractères" in message
        assert f'id="id_{field}_error"' in response.text
    assert f'value="{too_long}"' in response.text
    assert not User.objects.filter(role=Role.TECHNICIEN).exists()
    assert mail.outbox == []


def test_creation_is_allowed_while_the_convention_is_a_venir(django_capture_on_commit_callbacks):
    convention = ConventionFactory(
        date_debut=timezone.localdate() + datetime.timedelta(days=15),
        date_fin=None,
    )
    gestionnaire = GestionnaireFactory(structure=convention.structure)
    client = logged_in_client(gestionnaire)

    response = client.get(LIST_URL)
    assert "Ajouter un technicien" in response.text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CREATE_URL, MARYSE, follow=True)

    assert response.redirect_chain == [(LIST_URL, 302)]
    assert User.objects.get(identifiant="m.pichon").structure == convention.structure
    assert [email.to for email in mail.outbox] == [["maryse.pichon@assurance-maladie.fr"]]


def test_the_server_refuses_a_creation_once_the_quota_is_reached(create, client_g, structure):
    TechnicienFactory.create_batch(5, structure=structure)
    inactive(structure=structure)  # inactive accounts do not count

    response = create(MARYSE)

    assert response.redirect_chain == [(LIST_URL, 302)]
    assert messages_of(response) == [
        "Le nombre maximum de techniciens actifs prévu par la convention (5) est atteint."
    ]
    assert not User.objects.filter(email=MARYSE["email"]).exists()
    assert User.objects.filter(structure=structure, role=Role.TECHNICIEN).count() == 6
    assert mail.outbox == []
    # The form itself is not offered either.
    assert client_g.get(CREATE_URL).status_code == 302


def test_creation_records_created_and_invitation_sent_by_the_gestionnaire(create, gestionnaire):
    create(MARYSE)

    maryse = User.objects.get(identifiant="m.pichon")
    events = list(maryse.events.order_by("at", "pk").values_list("kind", "by"))
    assert events == [
        (AccountEvent.Kind.CREATED, gestionnaire.pk),
        (AccountEvent.Kind.INVITATION_SENT, gestionnaire.pk),
    ]


def test_the_creation_form_asks_the_seven_fields(client_g):
    response = client_g.get(CREATE_URL)

    assert response.status_code == 200
    assert list(response.context["form"].fields) == [
        "civilite",
        "nom_patronymique",
        "nom_usuel",
        "prenom",
        "fonction",
        "telephone",
        "email",
    ]
    assert "Ajouter un compte technicien" in response.text


# The rules of manual 000 §IV-1, shown before they are broken (issue 19, item 3).
RULE_NOMS = "30 caractères maximum (accepté alpha, espace, tiret, apostrophe)."
RULE_PRENOM = "20 caractères maximum (accepté alpha, espace, tiret, apostrophe)."
RULE_FONCTION = "20 caractères maximum."
RULE_TELEPHONE = (
    "10 chiffres avec un point entre chaque nombre de 2 chiffres : 07.00.00.00.00 (les points "
    "sont ajoutés s'ils manquent)."
)


def help_of(html: str, field: str) -> str:
    """The help text of a field, which the field's input names as its description."""
    [text] = re.findall(rf'<p class="help" id="id_{field}_helptext">([^<]*)</p>', html)
    assert re.search(rf'<[^>]* name="{field}"[^>]*aria-describedby="id_{field}_helptext', html)
    return html_module.unescape(text)


@pytest.mark.parametrize("url", ["create", "modify"])
def test_the_account_form_shows_each_rule_before_it_is_broken(client_g, structure, url):
    if url == "create":
        response = client_g.get(CREATE_URL)
    else:
        maryse = TechnicienFactory(structure=structure)
        response = client_g.get(reverse("accounts:technicien_modify", args=[maryse.pk]))
    html = response.text

    assert help_of(html, "nom_patronymique") == "Nom de naissance. " + RULE_NOMS
    assert help_of(html, "nom_usuel") == "Nom marital ou d'usage. " + RULE_NOMS
    assert help_of(html, "prenom") == RULE_PRENOM
    assert help_of(html, "fonction") == RULE_FONCTION
    assert help_of(html, "telephone") == RULE_TELEPHONE
    assert 'placeholder="XX.XX.XX.XX.XX"' in html
    assert help_of(html, "email").startswith("Adresse e-mail professionnelle")
    assert re.search(r'<option value=""( selected)?>Sélectionner la civilité</option>', html)


def test_no_field_of_the_account_form_cuts_what_is_typed(client_g):
    """A maxlength attribute makes the browser drop the letters after the limit without a word:
    a 25-letter prénom would be sent as 20. The limit is said and the server refuses instead."""
    html = client_g.get(CREATE_URL).text

    assert "maxlength" not in html


@pytest.mark.parametrize(
    ("field", "typed", "limit"),
    [
        ("prenom", "Marie-Christine-Angelique", 20),
        ("fonction", "Conseillère en insertion", 20),
        ("nom_patronymique", "DE LA ROCHEFOUCAULD-MONTMORENCY", 30),
    ],
)
def test_a_value_over_its_limit_is_refused_never_cut(create, field, typed, limit):
    response = create({**MARYSE, field: typed})

    assert response.status_code == 200
    message = (
        f"Assurez-vous que cette valeur comporte au plus {limit} caractères "
        f"(actuellement {len(typed)})."
    )
    assert response.context["form"].errors[field] == [message]
    assert re.search(
        rf'<ul class="errorlist" id="id_{field}_error"><li>{re.escape(message)}</li></ul>',
        response.text,
    )
    assert response.context["form"][field].value() == typed
    assert not User.objects.filter(role=Role.TECHNICIEN).exists()
    assert mail.outbox == []


# --- 3. Modification ------------------------------------------------------------------------


@pytest.fixture
def maryse(create):
    create(MARYSE)
    mail.outbox.clear()
    return User.objects.get(identifiant="m.pichon")


def modify(client, account, **changes):
    data = {field: getattr(account, field) for field in MARYSE}
    return client.post(
        reverse("accounts:technicien_modify", args=[account.pk]), {**data, **changes}, follow=True
    )


def test_the_manuals_modification_adds_a_nom_usuel_and_a_new_phone(client_g, maryse):
    response = modify(client_g, maryse, nom_usuel="martin", telephone="06 00 00 00 00")

    assert response.redirect_chain == [(LIST_URL, 302)]
    [message] = messages_of(response)
    assert message.startswith("Les 2 changements ont bien été pris en compte")
    assert "nom usuel : « » → « MARTIN »" in message
    assert "téléphone : « 07.00.00.00.00 » → « 06.00.00.00.00 »" in message
    maryse.refresh_from_db()
    assert maryse.nom_usuel == "MARTIN"
    assert maryse.telephone == "06.00.00.00.00"
    assert maryse.identifiant == "m.pichon"
    assert names_in(response) == ["Madame MARTIN Maryse"]
    [row] = rows_of(response)
    assert row["facts"][:2] == ["m.pichon", "06.00.00.00.00"]


def test_a_modification_is_recorded_with_before_and_after(client_g, gestionnaire, maryse):
    modify(client_g, maryse, nom_usuel="MARTIN", telephone="06.00.00.00.00")

    event = maryse.events.get(kind=AccountEvent.Kind.MODIFIED)
    assert event.by == gestionnaire
    assert event.changes == {
        "nom_usuel": ["", "MARTIN"],
        "telephone": ["07.00.00.00.00", "06.00.00.00.00"],
    }


def test_the_modification_form_shows_the_unchangeable_identifiant(client_g, maryse):
    response = client_g.get(reverse("accounts:technicien_modify", args=[maryse.pk]))

    assert response.status_code == 200
    assert "Modifier un compte technicien" in response.text
    assert "<strong>m.pichon</strong>" in response.text
    assert "identifiant" not in response.context["form"].fields
    assert 'value="PICHON"' in response.text


def test_submitting_without_change_says_aucun_changement(client_g, maryse):
    response = modify(client_g, maryse)

    assert messages_of(response) == ["Aucun changement : le compte est inchangé."]
    assert not maryse.events.filter(kind=AccountEvent.Kind.MODIFIED).exists()


def test_an_email_used_by_another_active_technicien_is_refused_next_to_the_field(
    client_g, structure, maryse
):
    TechnicienFactory(structure=structure, email="deja.pris@example.org")

    response = modify(client_g, maryse, email="Deja.Pris@example.org", fonction="Secrétaire")

    assert response.redirect_chain == []
    assert response.context["form"].errors == {"email": [EMAIL_TAKEN_HERE]}
    assert 'id="id_email_error"' in response.text
    assert 'value="Secrétaire"' in response.text
    maryse.refresh_from_db()
    assert maryse.email == "maryse.pichon@assurance-maladie.fr"


def test_an_email_used_in_another_structure_is_refused_without_saying_where(client_g, maryse):
    other = TechnicienFactory(email="ailleurs@example.org")  # another structure, same role

    response = modify(client_g, maryse, email="ailleurs@example.org")

    assert response.context["form"].errors == {"email": [EMAIL_UNAVAILABLE]}
    assert other.structure.nom not in response.text
    assert "ce rôle" not in response.text
    maryse.refresh_from_db()
    assert maryse.email == "maryse.pichon@assurance-maladie.fr"
    assert maryse.fonction == "Bénévole"


def test_the_email_of_an_inactive_technicien_may_be_reused(client_g, structure, maryse):
    inactive(structure=structure, email="ancien@example.org")

    response = modify(client_g, maryse, email="ancien@example.org")

    assert response.redirect_chain == [(LIST_URL, 302)]
    maryse.refresh_from_db()
    assert maryse.email == "ancien@example.org"


def test_modification_refuses_invalid_fields_and_keeps_the_input(client_g, maryse):
    response = modify(client_g, maryse, nom_patronymique="", nom_usuel="", prenom="Maryse2")

    errors = response.context["form"].errors
    assert set(errors) == {"nom_patronymique", "prenom"}
    assert 'value="Maryse2"' in response.text
    maryse.refresh_from_db()
    assert maryse.nom_patronymique == "PICHON"
    assert maryse.prenom == "Maryse"


# --- 4. History -----------------------------------------------------------------------------


def test_the_history_lists_the_accounts_events_newest_first_with_who_did_them(
    client_g, gestionnaire, structure, maryse, django_capture_on_commit_callbacks
):
    TechnicienFactory(structure=structure)  # so that Maryse is not the last active one
    other = GestionnaireFactory(structure=structure, prenom="Paul", nom_patronymique="LEROY")
    other_client = logged_in_client(other)
    modify(client_g, maryse, nom_usuel="MARTIN")
    other_client.post(reverse("accounts:technicien_inactivate", args=[maryse.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        client_g.post(
            reverse("accounts:technicien_reactivate", args=[maryse.pk]),
            {"motif": "Retour d'absence de longue durée"},
        )

    response = client_g.get(reverse("accounts:technicien_history", args=[maryse.pk]))

    assert response.status_code == 200
    rows = TableRows(response.text).rows
    kinds = [row[1] for row in rows]
    assert kinds == [
        "Invitation envoyée",
        "Réactivation",
        "Inactivation",
        "Modification",
        "Invitation envoyée",
        "Création",
    ]
    authors = [row[2] for row in rows]
    assert authors == [
        "Jeanne DURAND",
        "Jeanne DURAND",
        "Paul LEROY",
        "Jeanne DURAND",
        "Jeanne DURAND",
        "Jeanne DURAND",
    ]
    assert rows[3][3] == "Nom usuel : « » → « MARTIN »"
    assert rows[1][3] == "Motif : Retour d'absence de longue durée"
    assert "m.pichon" in response.text


def test_the_history_shows_civilite_with_its_label(client_g, maryse):
    modify(client_g, maryse, civilite="M")

    response = client_g.get(reverse("accounts:technicien_history", args=[maryse.pk]))

    [newest, *_older] = TableRows(response.text).rows
    assert newest[1] == "Modification"
    assert newest[3] == "Civilité : « Madame » → « Monsieur »"


# --- 5. Export ------------------------------------------------------------------------------

EXPORT_HEADER = [
    "Rôle",
    "Civilité",
    "Nom patronymique",
    "Nom usuel",
    "Prénom",
    "Identifiant",
    "Fonction",
    "Téléphone",
    "Adresse e-mail",
    "Statut",
    "Créé le",
    "Inactivé le",
    "Mot de passe créé",
    "Dernière connexion",
]


def test_the_export_is_a_french_csv_of_all_the_structures_accounts(
    client_g, gestionnaire, structure, other_structure
):
    created = datetime.datetime(2026, 2, 3, 9, 5, tzinfo=PARIS)
    TechnicienFactory(
        structure=structure,
        identifiant="m.pichon",
        nom_patronymique="PICHON",
        nom_usuel="MARTIN",
        prenom="Maryse",
        telephone="06.00.00.00.00",
        email="maryse.pichon@assurance-maladie.fr",
        created_at=created,
        password=None,
    )
    TechnicienFactory(
        structure=structure,
        identifiant="v.chausson2",
        civilite=Civilite.MONSIEUR,
        nom_patronymique="CHAUSSON",
        prenom="Victor",
        email="victor.chausson@assurance-maladie.fr",
        created_at=created,
        is_active=False,
        inactivated_at=datetime.datetime(2026, 3, 1, 17, 45, tzinfo=PARIS),
    )
    User.objects.filter(identifiant="m.pichon").update(password="!unusable")
    TechnicienFactory(structure=other_structure, nom_patronymique="AILLEURS")
    GestionnaireFactory(structure=other_structure, nom_patronymique="AILLEURS")

    response = client_g.get(EXPORT_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="comptes-{structure.siret}-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8").removeprefix("\ufeff")
    assert text.splitlines()[0] == ";".join(EXPORT_HEADER)
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [(row["Rôle"], row["Identifiant"], row["Statut"]) for row in rows] == [
        ("gestionnaire partenaire", gestionnaire.identifiant, "actif"),
        ("technicien partenaire", "m.pichon", "actif"),
        ("technicien partenaire", "v.chausson2", "inactif"),
    ]
    assert "AILLEURS" not in text
    maryse, victor = rows[1], rows[2]
    assert maryse == {
        "Rôle": "technicien partenaire",
        "Civilité": "Madame",
        "Nom patronymique": "PICHON",
        "Nom usuel": "MARTIN",
        "Prénom": "Maryse",
        "Identifiant": "m.pichon",
        "Fonction": "Bénévole",
        "Téléphone": "06.00.00.00.00",
        "Adresse e-mail": "maryse.pichon@assurance-maladie.fr",
        "Statut": "actif",
        "Créé le": "03/02/2026 09:05",
        "Inactivé le": "",
        "Mot de passe créé": "non",
        "Dernière connexion": "",
    }
    assert victor["Civilité"] == "Monsieur"
    assert victor["Inactivé le"] == "01/03/2026 17:45"
    assert victor["Mot de passe créé"] == "oui"
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", rows[0]["Dernière connexion"])


def test_the_export_neutralises_what_a_spreadsheet_would_run_as_a_formula(client_g, structure):
    """A cell a person typed that starts like a formula (=, +, -, @) is written as text."""
    TechnicienFactory(structure=structure, fonction='=HYPERLINK("x";"y")')  # 20 at most
    TechnicienFactory(structure=structure, fonction="@SUM(1+1)")

    text = client_g.get(EXPORT_URL).content.decode("utf-8")
    cells = [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]

    assert '\'=HYPERLINK("x";"y")' in cells
    assert "'@SUM(1+1)" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]


def test_the_export_button_is_on_the_list(client_g):
    response = client_g.get(LIST_URL)

    assert f'href="{EXPORT_URL}"' in response.text


# --- 6. Who may reach which page ------------------------------------------------------------


def object_url(name: str, account: User) -> str:
    return reverse(f"accounts:{name}", args=[account.pk])


def snapshot(account: User) -> dict:
    account = User.objects.get(pk=account.pk)
    return {
        "fields": {field.name: field.value_from_object(account) for field in User._meta.fields},
        "events": list(account.events.values_list("pk", flat=True)),
        "invitations": list(account.invitations.values_list("pk", "revoked_at")),
    }


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("technicien_modify", "get"),
        ("technicien_modify", "post"),
        ("technicien_inactivate", "get"),
        ("technicien_inactivate", "post"),
        ("technicien_reactivate", "get"),
        ("technicien_reactivate", "post"),
        ("technicien_resend_invitation", "post"),
        ("technicien_history", "get"),
    ],
)
def test_another_structures_technicien_is_not_found_and_left_unchanged(
    client_g, foreign_technicien, name, method, django_capture_on_commit_callbacks
):
    before = snapshot(foreign_technicien)
    data = {**MARYSE, "motif": "Pour voir"} if method == "post" else None

    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client_g, method)(object_url(name, foreign_technicien), data)

    assert response.status_code == 404
    assert snapshot(foreign_technicien) == before
    assert mail.outbox == []


def test_another_structures_inactive_technicien_cannot_be_reactivated(client_g, other_structure):
    GestionnaireFactory(structure=other_structure)
    account = inactive(structure=other_structure)
    url = object_url("technicien_reactivate", account)

    assert client_g.get(url).status_code == 404
    assert client_g.post(url, {"motif": "Pour voir"}).status_code == 404
    account.refresh_from_db()
    assert not account.is_active
    assert mail.outbox == []


def test_a_gestionnaire_never_sees_another_structures_accounts_in_list_or_export(
    client_g, foreign_technicien
):
    assert "ETRANGER" not in client_g.get(LIST_URL).text
    assert "ETRANGER" not in client_g.get(EXPORT_URL).content.decode("utf-8")


def all_urls(account: User) -> list[tuple[str, str]]:
    return [
        (LIST_URL, "get"),
        (CREATE_URL, "get"),
        (CREATE_URL, "post"),
        (EXPORT_URL, "get"),
        (object_url("technicien_modify", account), "get"),
        (object_url("technicien_modify", account), "post"),
        (object_url("technicien_inactivate", account), "get"),
        (object_url("technicien_inactivate", account), "post"),
        (object_url("technicien_reactivate", account), "get"),
        (object_url("technicien_reactivate", account), "post"),
        (object_url("technicien_resend_invitation", account), "post"),
        (object_url("technicien_history", account), "get"),
    ]


def test_a_technicien_is_forbidden_every_page_of_the_feature(structure, gestionnaire):
    technicien = TechnicienFactory(structure=structure)
    colleague = TechnicienFactory(structure=structure, password=None)
    inactive_colleague = inactive(structure=structure)
    client = logged_in_client(technicien)
    before = snapshot(colleague)

    for account in (technicien, colleague, inactive_colleague):
        for url, method in all_urls(account):
            data = {**MARYSE, "motif": "Pour voir"} if method == "post" else None
            response = getattr(client, method)(url, data)
            assert response.status_code == 403, (url, method)

    assert snapshot(colleague) == before
    assert not User.objects.filter(email=MARYSE["email"]).exists()
    assert mail.outbox == []


def test_an_anonymous_visitor_is_sent_to_the_log_in_page(structure):
    account = TechnicienFactory(structure=structure)
    client = Client()
    login_url = reverse("accounts:login")

    for url, method in all_urls(account):
        response = getattr(client, method)(url)
        assert response.status_code == 302, (url, method)
        assert response["Location"].startswith(f"{login_url}?next="), (url, method)


def test_an_agent_de_caisse_is_forbidden_every_page_of_the_feature(structure, convention):
    account = TechnicienFactory(structure=structure)
    agent = AgentFactory(organisme=convention.organisme)
    client = Client()
    log_in_verified(client, agent)

    for url, method in all_urls(account):
        response = getattr(client, method)(url, {"motif": "x"} if method == "post" else None)
        assert response.status_code == 403, (url, method)
    account.refresh_from_db()
    assert account.is_active


def test_any_gestionnaire_of_the_structure_manages_techniciens_created_by_another(
    structure, maryse, django_capture_on_commit_callbacks
):
    TechnicienFactory(structure=structure)
    colleague = GestionnaireFactory(structure=structure, prenom="Paul", nom_patronymique="LEROY")
    client = logged_in_client(colleague)

    assert client.get(object_url("technicien_history", maryse)).status_code == 200
    response = modify(client, maryse, fonction="Secrétaire")
    assert response.redirect_chain == [(LIST_URL, 302)]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(object_url("technicien_resend_invitation", maryse))
    assert response.status_code == 302
    assert [email.to for email in mail.outbox] == [["maryse.pichon@assurance-maladie.fr"]]
    response = client.post(object_url("technicien_inactivate", maryse))
    assert response.status_code == 302

    maryse.refresh_from_db()
    assert maryse.fonction == "Secrétaire"
    assert not maryse.is_active
    assert list(
        maryse.events.filter(by=colleague).order_by("at", "pk").values_list("kind", flat=True)
    ) == [
        AccountEvent.Kind.MODIFIED,
        AccountEvent.Kind.INVITATION_SENT,
        AccountEvent.Kind.INACTIVATED,
    ]


# --- 7. Query counts ------------------------------------------------------------------------


def structure_with(count: int):
    """A structure with `count` techniciens (one inactive), each with a history of 3 events."""
    convention = ConventionFactory(max_techniciens=25)
    structure = convention.structure
    gestionnaire = GestionnaireFactory(structure=structure)
    techniciens = TechnicienFactory.create_batch(count - 1, structure=structure)
    techniciens.append(inactive(structure=structure))
    authors = [GestionnaireFactory(structure=structure) for _ in range(count)]
    first = techniciens[0]
    for author in authors:
        AccountEvent.objects.create(
            account=first,
            kind=AccountEvent.Kind.MODIFIED,
            by=author,
            changes={"fonction": ["Bénévole", "Secrétaire"], "civilite": ["MME", "M"]},
        )
    AccountEvent.objects.create(
        account=first, kind=AccountEvent.Kind.REACTIVATED, by=authors[0], reason="Retour"
    )
    return logged_in_client(gestionnaire), first


@pytest.mark.parametrize(
    "page",
    ["list", "create", "modify", "history", "export"],
)
def test_pages_make_the_same_number_of_queries_with_3_and_25_techniciens(page):
    counts = []
    for count in (3, 25):
        client, technicien = structure_with(count)
        url = {
            "list": LIST_URL,
            "create": CREATE_URL,
            "modify": object_url("technicien_modify", technicien),
            "history": object_url("technicien_history", technicien),
            "export": EXPORT_URL,
        }[page]
        counts.append(count_queries(client, url))

    assert counts[0] == counts[1], counts
