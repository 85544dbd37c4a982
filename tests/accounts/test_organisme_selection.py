"""SPEC §3 "Organisme selection" and the manual's chapter II: which organismes a partner may
choose, how the choice is made, kept and checked again on every request."""

import datetime
import html
import zoneinfo
from html.parser import HTMLParser

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.middleware import SESSION_ORGANISME_KEY
from tests.factories import (
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
SELECTION_URL = reverse("accounts:organisme_selection")
HOME_URL = reverse("home")
LOGOUT_URL = reverse("accounts:logout")
PLACEHOLDER = "Sélectionner un organisme"
LEGEND = "convention se terminant dans moins de 30 jours"
NOT_IN_LIST = "Sélectionnez un organisme de la liste."


def at(day: D, hour: int = 12, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def frozen_clock():
    """Every test runs on TODAY at noon, Paris time, unless it travels on."""
    with time_machine.travel(at(TODAY), tick=False) as traveller:
        yield traveller


@pytest.fixture
def structure():
    return StructureFactory()


@pytest.fixture
def gestionnaire(structure):
    return GestionnaireFactory(structure=structure)


def convention_with(structure, nom: str | None = None, organisme=None, **dates):
    organisme = organisme or OrganismeFactory(**({"nom": nom} if nom else {}))
    return ConventionFactory(structure=structure, organisme=organisme, **dates)


def days(n: int) -> D:
    return TODAY + datetime.timedelta(days=n)


class SelectParser(HTMLParser):
    """The options of the page's <select name="organisme">, and the page's forms."""

    def __init__(self):
        super().__init__()
        self.options: list[dict] = []
        self.forms: list[dict] = []
        self._in_select = False
        self._option: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select" and attrs.get("name") == "organisme":
            self._in_select = True
        elif tag == "option" and self._in_select:
            self._option = {
                "value": attrs.get("value"),
                "class": attrs.get("class") or "",
                "selected": "selected" in attrs,
                "label": "",
            }
        elif tag == "form":
            self.forms.append({"action": attrs.get("action"), "method": attrs.get("method")})

    def handle_data(self, data):
        if self._option is not None:
            self._option["label"] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            self.options.append(self._option)
            self._option = None
        elif tag == "select":
            self._in_select = False


def parse(response) -> SelectParser:
    parser = SelectParser()
    parser.feed(response.text)
    return parser


def option_labels(response) -> list[str]:
    return [option["label"] for option in parse(response).options]


def selected_option(response) -> dict:
    (selected,) = [option for option in parse(response).options if option["selected"]]
    return selected


def selection_page(client, user):
    log_in_verified(client, user)
    response = client.get(SELECTION_URL)
    assert response.status_code == 200
    assert response.templates[0].name == "accounts/organisme_selection.html"
    return response


# --- Which organismes are offered ------------------------------------------------------------


def test_only_organismes_with_a_convention_a_venir_or_en_cours_with_the_structure_are_offered(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM GIRONDE")  # en cours, open-ended
    convention_with(structure, "CPAM DORDOGNE", date_debut=days(10))  # à venir
    convention_with(structure, "CPAM LOT ET GARONNE", date_debut=days(-100), date_fin=days(100))
    convention_with(structure, "CPAM TERMINEE", date_debut=days(-100), date_fin=days(-1))
    convention_with(StructureFactory(), "CPAM D'UNE AUTRE STRUCTURE")

    response = selection_page(client, gestionnaire)

    assert option_labels(response) == [
        PLACEHOLDER,
        "CPAM DORDOGNE",
        "CPAM GIRONDE",
        "CPAM LOT ET GARONNE",
    ]


def test_organismes_are_sorted_by_name(client, structure, gestionnaire):
    for nom in ["CPAM GIRONDE", "CPAM COTE D'OPALE", "CPAM LOT ET GARONNE", "CPAM DORDOGNE"]:
        convention_with(structure, nom)

    response = selection_page(client, gestionnaire)

    assert option_labels(response)[1:] == [
        "CPAM COTE D'OPALE",
        "CPAM DORDOGNE",
        "CPAM GIRONDE",
        "CPAM LOT ET GARONNE",
    ]


def test_a_convention_ending_today_still_counts_and_one_ended_yesterday_does_not(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM FIN AUJOURD'HUI", date_debut=days(-60), date_fin=TODAY)
    convention_with(structure, "CPAM FIN HIER", date_debut=days(-60), date_fin=days(-1))
    convention_with(structure, "CPAM OUVERTE")

    response = selection_page(client, gestionnaire)

    assert option_labels(response)[1:] == ["CPAM FIN AUJOURD'HUI *", "CPAM OUVERTE"]


def test_an_organisme_with_a_current_convention_and_its_renewal_is_offered_once(
    client, structure, gestionnaire
):
    gironde = OrganismeFactory(nom="CPAM GIRONDE")
    convention_with(structure, organisme=gironde, date_debut=days(-300), date_fin=days(60))
    convention_with(structure, organisme=gironde, date_debut=days(61))
    convention_with(structure, "CPAM OISE")

    response = selection_page(client, gestionnaire)

    assert option_labels(response)[1:] == ["CPAM GIRONDE", "CPAM OISE"]


# --- What is preselected ---------------------------------------------------------------------


def test_without_a_previous_connection_the_placeholder_is_preselected(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM GIRONDE")
    convention_with(structure, "CPAM OISE")

    response = selection_page(client, gestionnaire)

    assert selected_option(response) == {
        "value": "",
        "class": "",
        "selected": True,
        "label": PLACEHOLDER,
    }


def test_the_organisme_of_the_last_connection_is_preselected(client, structure, gestionnaire):
    convention_with(structure, "CPAM GIRONDE")
    oise = convention_with(structure, "CPAM OISE").organisme
    gestionnaire.last_organisme = oise
    gestionnaire.save(update_fields=["last_organisme"])

    response = selection_page(client, gestionnaire)

    assert selected_option(response)["value"] == str(oise.pk)
    assert selected_option(response)["label"] == "CPAM OISE"


def test_a_last_organisme_no_longer_offered_is_not_preselected(client, structure, gestionnaire):
    convention_with(structure, "CPAM GIRONDE")
    convention_with(structure, "CPAM OISE")
    ended = convention_with(structure, "CPAM FINIE", date_debut=days(-90), date_fin=days(-1))
    gestionnaire.last_organisme = ended.organisme
    gestionnaire.save(update_fields=["last_organisme"])

    response = selection_page(client, gestionnaire)

    assert selected_option(response)["label"] == PLACEHOLDER
    assert "CPAM FINIE" not in response.text


# --- Red and asterisk: a convention ending within 30 days ------------------------------------


def test_an_organisme_whose_convention_ends_within_30_days_is_shown_in_red_with_an_asterisk(
    client, structure, gestionnaire
):
    ending = convention_with(
        structure, "CPAM LOT ET GARONNE", date_debut=days(-300), date_fin=days(30)
    )
    convention_with(structure, "CPAM GIRONDE", date_debut=days(-300), date_fin=days(31))
    convention_with(structure, "CPAM DORDOGNE")

    response = selection_page(client, gestionnaire)

    options = {option["label"]: option for option in parse(response).options}
    assert options["CPAM LOT ET GARONNE *"]["class"] == "ending-soon"
    assert options["CPAM LOT ET GARONNE *"]["value"] == str(ending.organisme.pk)
    assert options["CPAM GIRONDE"]["class"] == ""
    assert options["CPAM DORDOGNE"]["class"] == ""
    assert LEGEND in response.text


def test_without_a_convention_ending_soon_there_is_no_asterisk_nor_legend(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM GIRONDE", date_debut=days(-300), date_fin=days(31))
    convention_with(structure, "CPAM DORDOGNE")

    response = selection_page(client, gestionnaire)

    assert option_labels(response)[1:] == ["CPAM DORDOGNE", "CPAM GIRONDE"]
    assert "ending-soon" not in response.text
    assert LEGEND not in response.text


def test_a_convention_ending_soon_with_its_renewal_already_signed_is_not_flagged(
    client, structure, gestionnaire
):
    gironde = OrganismeFactory(nom="CPAM GIRONDE")
    convention_with(structure, organisme=gironde, date_debut=days(-300), date_fin=days(5))
    convention_with(structure, organisme=gironde, date_debut=days(6), date_fin=days(400))
    convention_with(structure, "CPAM OISE")

    response = selection_page(client, gestionnaire)

    assert option_labels(response)[1:] == ["CPAM GIRONDE", "CPAM OISE"]
    assert "ending-soon" not in response.text
    assert LEGEND not in response.text


def test_a_renewal_signed_with_another_organisme_does_not_clear_the_flag(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM GIRONDE", date_debut=days(-300), date_fin=days(5))
    convention_with(structure, "CPAM OISE", date_debut=days(6))

    response = selection_page(client, gestionnaire)

    assert option_labels(response)[1:] == ["CPAM GIRONDE *", "CPAM OISE"]


# --- Choosing --------------------------------------------------------------------------------


def test_choosing_an_organisme_selects_it_for_the_session_and_remembers_it(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM GIRONDE")
    oise = convention_with(structure, "CPAM OISE").organisme
    selection_page(client, gestionnaire)

    response = client.post(SELECTION_URL, {"organisme": oise.pk})

    assert response.status_code == 302
    assert response.url == HOME_URL
    assert client.session[SESSION_ORGANISME_KEY] == oise.pk
    gestionnaire.refresh_from_db()
    assert gestionnaire.last_organisme == oise
    home = client.get(HOME_URL)
    assert home.status_code == 200
    assert "Votre convention avec CPAM OISE" in home.text


def test_the_organisme_can_be_changed_at_any_time_from_the_selection_page(
    client, structure, gestionnaire
):
    gironde = convention_with(structure, "CPAM GIRONDE").organisme
    oise = convention_with(structure, "CPAM OISE").organisme
    selection_page(client, gestionnaire)
    client.post(SELECTION_URL, {"organisme": gironde.pk})

    again = client.get(SELECTION_URL)
    assert again.status_code == 200
    assert selected_option(again)["value"] == str(gironde.pk)
    client.post(SELECTION_URL, {"organisme": oise.pk})

    assert client.session[SESSION_ORGANISME_KEY] == oise.pk
    assert "Votre convention avec CPAM OISE" in client.get(HOME_URL).text
    gestionnaire.refresh_from_db()
    assert gestionnaire.last_organisme == oise


def test_choosing_an_organisme_ending_soon_shows_a_warning_with_a_continue_button(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM GIRONDE")
    ending = convention_with(
        structure, "CPAM LOT ET GARONNE", date_debut=days(-300), date_fin=D(2026, 3, 25)
    )
    selection_page(client, gestionnaire)

    response = client.post(SELECTION_URL, {"organisme": ending.organisme.pk})

    assert response.status_code == 200
    assert (
        "Votre convention avec CPAM LOT ET GARONNE se termine le 25 mars 2026, rapprochez-vous "
        "de votre organisme d'assurance maladie." in response.text
    )
    assert '<button type="submit" name="continuer" value="1" class="button">Continuer</button>' in (
        response.text
    )
    # Nothing is selected until the partner goes on.
    assert SESSION_ORGANISME_KEY not in client.session
    gestionnaire.refresh_from_db()
    assert gestionnaire.last_organisme is None


def test_continuer_selects_the_organisme_ending_soon(client, structure, gestionnaire):
    convention_with(structure, "CPAM GIRONDE")
    ending = convention_with(
        structure, "CPAM LOT ET GARONNE", date_debut=days(-300), date_fin=D(2026, 3, 25)
    )
    selection_page(client, gestionnaire)

    response = client.post(
        SELECTION_URL, {"organisme": ending.organisme.pk, "continuer": "1"}, follow=True
    )

    assert response.redirect_chain == [(HOME_URL, 302)]
    assert "Votre convention avec CPAM LOT ET GARONNE" in response.text
    assert client.session[SESSION_ORGANISME_KEY] == ending.organisme.pk
    gestionnaire.refresh_from_db()
    assert gestionnaire.last_organisme == ending.organisme


def test_posting_an_organisme_not_in_the_list_is_refused_with_a_french_error(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM GIRONDE")
    convention_with(structure, "CPAM OISE")
    foreign = convention_with(StructureFactory(), "CPAM D'UNE AUTRE STRUCTURE").organisme
    ended = convention_with(structure, "CPAM FINIE", date_debut=days(-90), date_fin=days(-1))
    selection_page(client, gestionnaire)

    for organisme in (foreign, ended.organisme):
        response = client.post(SELECTION_URL, {"organisme": organisme.pk})

        assert response.status_code == 200
        assert NOT_IN_LIST in response.text
        assert SESSION_ORGANISME_KEY not in client.session
    gestionnaire.refresh_from_db()
    assert gestionnaire.last_organisme is None
    assert client.get(HOME_URL).url == SELECTION_URL


def test_validating_without_choosing_asks_for_an_organisme(client, structure, gestionnaire):
    convention_with(structure, "CPAM GIRONDE")
    convention_with(structure, "CPAM OISE")
    selection_page(client, gestionnaire)

    response = client.post(SELECTION_URL, {"organisme": ""})

    assert response.status_code == 200
    assert "Sélectionnez un organisme." in response.text
    assert SESSION_ORGANISME_KEY not in client.session


def test_a_portal_page_without_a_selected_organisme_leads_to_the_selection(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM GIRONDE")
    convention_with(structure, "CPAM OISE")
    client.force_login(gestionnaire)

    response = client.get(HOME_URL)

    assert response.status_code == 302
    assert response.url == SELECTION_URL


def test_a_technicien_chooses_among_the_organismes_of_their_structure_too(client, structure):
    convention_with(structure, "CPAM GIRONDE")
    convention_with(structure, "CPAM OISE")
    convention_with(StructureFactory(), "CPAM AUTRE")

    response = selection_page(client, TechnicienFactory(structure=structure))

    assert option_labels(response) == [PLACEHOLDER, "CPAM GIRONDE", "CPAM OISE"]


# --- Exactly one organisme: selected without asking ------------------------------------------


def test_with_exactly_one_organisme_it_is_selected_without_asking(client, structure, gestionnaire):
    oise = convention_with(structure, "CPAM OISE").organisme
    convention_with(structure, "CPAM FINIE", date_debut=days(-90), date_fin=days(-1))
    client.force_login(gestionnaire)

    response = client.get(HOME_URL, follow=True)

    assert response.redirect_chain == [(SELECTION_URL, 302), (HOME_URL, 302)]
    assert "Votre convention avec CPAM OISE" in response.text
    assert "accounts/organisme_selection.html" not in [t.name for t in response.templates]
    assert 'class="messages"' not in response.text
    assert client.session[SESSION_ORGANISME_KEY] == oise.pk
    gestionnaire.refresh_from_db()
    assert gestionnaire.last_organisme == oise


def test_the_only_organisme_ending_soon_is_selected_with_a_warning_message(
    client, structure, gestionnaire
):
    ending = convention_with(
        structure, "CPAM LOT ET GARONNE", date_debut=days(-300), date_fin=D(2026, 4, 1)
    )
    client.force_login(gestionnaire)

    response = client.get(HOME_URL, follow=True)

    assert response.redirect_chain == [(SELECTION_URL, 302), (HOME_URL, 302)]
    assert client.session[SESSION_ORGANISME_KEY] == ending.organisme.pk
    assert (
        '<p class="message message-warning" role="alert">Votre convention avec CPAM LOT ET '
        "GARONNE se termine le 1 avril 2026, rapprochez-vous de votre organisme d'assurance "
        "maladie.</p>" in html.unescape(response.text)
    )


# --- No organisme at all ---------------------------------------------------------------------


def test_without_any_organisme_the_partner_is_told_why_and_can_only_log_out(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM FINIE", date_debut=days(-90), date_fin=days(-1))
    convention_with(StructureFactory(), "CPAM AUTRE")
    client.force_login(gestionnaire)

    response = client.get(HOME_URL, follow=True)

    assert response.redirect_chain == [(SELECTION_URL, 302)]
    assert response.status_code == 200
    assert "Aucun organisme disponible" in response.text
    assert (
        "Votre structure n'a aucune convention en cours ou à venir avec un organisme "
        "d'assurance maladie" in response.text
    )
    page = parse(response)
    assert page.options == []
    assert page.forms  # the log-out button, in the page and in the person card
    assert all(form == {"action": LOGOUT_URL, "method": "post"} for form in page.forms)
    assert 'class="menu"' not in response.text
    assert SESSION_ORGANISME_KEY not in client.session


def test_without_any_organisme_every_portal_page_leads_to_the_explanation(
    client, structure, gestionnaire
):
    client.force_login(gestionnaire)

    response = client.get(HOME_URL)

    assert response.status_code == 302
    assert response.url == SELECTION_URL
    assert "Aucun organisme disponible" in client.get(response.url).text
    # Posting a made-up choice changes nothing.
    forged = OrganismeFactory()
    client.post(SELECTION_URL, {"organisme": forged.pk})
    assert SESSION_ORGANISME_KEY not in client.session
    assert client.get(HOME_URL).url == SELECTION_URL


def test_the_partner_can_log_out_from_the_explanation_page(client, gestionnaire):
    client.force_login(gestionnaire)
    client.get(SELECTION_URL)

    response = client.post(LOGOUT_URL)

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- Checked on every request ----------------------------------------------------------------


def test_an_ended_convention_stops_granting_access_at_once(
    client, structure, gestionnaire, frozen_clock
):
    end = TODAY
    ending = convention_with(structure, "CPAM GIRONDE", date_debut=days(-300), date_fin=end)
    frozen_clock.move_to(at(end, 23, 50))
    client.force_login(gestionnaire)
    client.get(SELECTION_URL)  # the only organisme: selected without asking
    assert client.session[SESSION_ORGANISME_KEY] == ending.organisme.pk
    assert client.get(HOME_URL).status_code == 200

    frozen_clock.move_to(at(end + datetime.timedelta(days=1), 0, 5))  # the session is still alive
    response = client.get(HOME_URL)

    assert response.status_code == 302
    assert response.url == SELECTION_URL
    assert SESSION_ORGANISME_KEY not in client.session
    assert "_auth_user_id" in client.session
    assert "Aucun organisme disponible" in client.get(SELECTION_URL).text


def test_after_the_end_of_a_convention_the_selection_offers_the_remaining_organismes(
    client, structure, gestionnaire, frozen_clock
):
    ending = convention_with(structure, "CPAM GIRONDE", date_debut=days(-300), date_fin=TODAY)
    convention_with(structure, "CPAM DORDOGNE")
    convention_with(structure, "CPAM OISE")
    frozen_clock.move_to(at(TODAY, 23, 45))
    client.force_login(gestionnaire)
    client.post(SELECTION_URL, {"organisme": ending.organisme.pk, "continuer": "1"})
    assert "Votre convention avec CPAM GIRONDE" in client.get(HOME_URL).text

    frozen_clock.move_to(at(days(1), 0, 1))
    response = client.get(HOME_URL, follow=True)

    assert response.redirect_chain == [(SELECTION_URL, 302)]
    assert option_labels(response) == [PLACEHOLDER, "CPAM DORDOGNE", "CPAM OISE"]
    # The organisme of the last connection is no longer offered: nothing is preselected.
    assert selected_option(response)["label"] == PLACEHOLDER


def test_a_signed_renewal_takes_over_without_a_new_selection(
    client, structure, gestionnaire, frozen_clock
):
    gironde = OrganismeFactory(nom="CPAM GIRONDE")
    convention_with(
        structure, organisme=gironde, reference="ANCIENNE", date_debut=days(-300), date_fin=TODAY
    )
    convention_with(structure, organisme=gironde, reference="NOUVELLE", date_debut=days(1))
    convention_with(structure, "CPAM OISE")
    frozen_clock.move_to(at(TODAY, 23, 50))
    client.force_login(gestionnaire)
    client.post(SELECTION_URL, {"organisme": gironde.pk})
    assert "ANCIENNE" in client.get(HOME_URL).text

    frozen_clock.move_to(at(days(1), 0, 10))
    response = client.get(HOME_URL)

    assert response.status_code == 200
    assert "NOUVELLE" in response.text
    assert "ANCIENNE" not in response.text


# --- SQL queries do not grow with the number of organismes -----------------------------------


def partner_with_conventions(count: int):
    structure = StructureFactory()
    for number in range(count):
        kind = number % 3
        if kind == 0:
            convention_with(structure)
        elif kind == 1:
            convention_with(structure, date_debut=days(-300), date_fin=days(10))  # ending soon
        else:
            convention_with(structure, date_debut=days(20))  # à venir
    user = GestionnaireFactory(structure=structure)
    TechnicienFactory(structure=structure)
    return user


def queries(client, user, url: str) -> int:
    log_in_verified(client, user)
    organisme = user.structure.conventions.order_by("organisme__nom").first().organisme
    client.post(SELECTION_URL, {"organisme": organisme.pk, "continuer": "1"})
    assert client.get(url).status_code == 200  # warm up
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    client.logout()
    return len(context.captured_queries)


@pytest.mark.parametrize("url", [HOME_URL, SELECTION_URL])
def test_the_number_of_queries_does_not_depend_on_the_number_of_organismes(client, url):
    with_3 = queries(client, partner_with_conventions(3), url)
    with_30 = queries(client, partner_with_conventions(30), url)

    assert with_3 == with_30


# --- Where the partner was going ----------------------------------------------------------

REVIEW_URL = reverse("accounts:habilitation_review")


def test_a_link_followed_before_choosing_leads_there_after_the_choice(
    client, structure, gestionnaire
):
    # The e-mail asking for the habilitation review links to its page: the choice of the
    # organisme comes between, and then the page itself, not the home page.
    convention_with(structure, "CPAM GIRONDE")
    oise = convention_with(structure, "CPAM OISE").organisme
    client.force_login(gestionnaire)

    response = client.get(REVIEW_URL)
    assert response.url == f"{SELECTION_URL}?next=%2Fcomptes%2Frevue-des-habilitations%2F"
    page = client.get(response.url)
    assert 'name="next" value="/comptes/revue-des-habilitations/"' in page.text

    response = client.post(SELECTION_URL, {"organisme": oise.pk, "next": REVIEW_URL})
    assert response.url == REVIEW_URL


def test_with_one_organisme_the_link_leads_there_at_once(client, structure, gestionnaire):
    convention_with(structure, "CPAM OISE")
    client.force_login(gestionnaire)

    response = client.get(REVIEW_URL, follow=True)

    assert response.redirect_chain[-1] == (REVIEW_URL, 302)
    assert response.status_code == 200


def test_the_warning_of_an_ending_convention_keeps_where_the_partner_was_going(
    client, structure, gestionnaire
):
    convention_with(structure, "CPAM GIRONDE")
    soon = convention_with(structure, "CPAM OISE", date_fin=days(10)).organisme
    client.force_login(gestionnaire)

    warning = client.post(SELECTION_URL, {"organisme": soon.pk, "next": REVIEW_URL})
    assert 'name="next" value="/comptes/revue-des-habilitations/"' in warning.text
    response = client.post(
        SELECTION_URL, {"organisme": soon.pk, "continuer": "1", "next": REVIEW_URL}
    )
    assert response.url == REVIEW_URL


@pytest.mark.parametrize("target", ["https://ailleurs.example/", "//ailleurs.example/x"])
def test_a_next_address_outside_the_portal_leads_home(client, structure, gestionnaire, target):
    oise = convention_with(structure, "CPAM OISE").organisme
    convention_with(structure, "CPAM GIRONDE")
    client.force_login(gestionnaire)

    response = client.post(SELECTION_URL, {"organisme": oise.pk, "next": target})

    assert response.url == HOME_URL
