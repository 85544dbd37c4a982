"""E-mail addresses the provider reports as undeliverable (accounts.bounces).

The provider's tracking webhook is django-anymail's, protected by ANYMAIL["WEBHOOK_SECRET"] (HTTP
basic auth). These tests post Brevo's real tracking payloads: Brevo's webhook has no signature of
its own, so the shared secret is its only protection, which is what is tested here.
"""

import base64
import datetime
import json
import zoneinfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    TechnicienFactory,
)
from tests.helpers import log_in_verified

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
WEBHOOK_URL = "/anymail/brevo/tracking/"
SECRET = "brevo-webhook:Xq7-secret-of-the-tests"
MARYSE_EMAIL = "maryse.pichon@ccas-creil.example"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


def brevo_event(event: str, email: str) -> dict:
    """A transactional webhook post as Brevo sends it (developers.brevo.com, webhooks)."""
    return {
        "event": event,
        "email": email,
        "id": 1_234_567,
        "date": "2026-11-22 10:30:00",
        "ts": 1_795_343_400,
        "message-id": "<202611221030.12345678901@smtp-relay.mailin.fr>",
        "ts_event": 1_795_343_400,
        "subject": "Créez votre mot de passe",
        "tag": "accounts/invitation",
        "sending_ip": "185.41.28.109",
        "ts_epoch": 1_795_343_400_000,
        "reason": "550 5.1.1 <maryse.pichon@ccas-creil.example>: Recipient address rejected",
    }


def basic_auth(credentials: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def post_event(payload: dict, **headers):
    return Client().post(
        WEBHOOK_URL, json.dumps(payload), content_type="application/json", **headers
    )


def marks(*accounts) -> list[tuple]:
    return [
        User.objects.values_list("email_invalid_at", "email_invalide_motif").get(pk=account.pk)
        for account in accounts
    ]


@pytest.fixture
def convention():
    return ConventionFactory(organisme=OrganismeFactory(nom="CPAM DE L'OISE"))


@pytest.fixture
def maryse(convention):
    return TechnicienFactory(
        identifiant="m.pichon",
        structure=convention.structure,
        prenom="Maryse",
        nom_patronymique="PICHON",
        email=MARYSE_EMAIL,
    )


# --- The webhook ----------------------------------------------------------------------------


def test_without_the_secret_the_webhook_is_refused_and_nothing_changes(maryse):
    response = post_event(brevo_event("hard_bounce", MARYSE_EMAIL))

    # Refused by anymail's basic auth, not sent to the log-in page by LoginRequiredMiddleware.
    assert response.status_code == 400
    assert marks(maryse) == [(None, "")]


def test_the_webhook_is_not_there_while_its_secret_is_not_set(maryse, settings):
    """Without a secret anymail would take bounces from anyone (and mark accounts invalid):
    the webhook answers 404 then, whatever the caller sends; check --deploy warns too."""
    settings.ANYMAIL = {"WEBHOOK_SECRET": ""}

    for auth in ({}, basic_auth(SECRET), basic_auth(":")):
        response = post_event(brevo_event("hard_bounce", MARYSE_EMAIL), **auth)
        assert response.status_code == 404
    assert marks(maryse) == [(None, "")]


def test_with_a_wrong_secret_the_webhook_is_refused_and_nothing_changes(maryse):
    response = post_event(
        brevo_event("hard_bounce", MARYSE_EMAIL), **basic_auth("brevo-webhook:guessed")
    )

    assert response.status_code == 400
    assert marks(maryse) == [(None, "")]


def test_a_hard_bounce_marks_the_account_invalid(maryse):
    before = datetime.datetime.now(tz=datetime.UTC)

    response = post_event(brevo_event("hard_bounce", MARYSE_EMAIL), **basic_auth(SECRET))

    assert response.status_code == 200
    maryse.refresh_from_db()
    assert maryse.email_invalide_motif == "bounced"
    assert before <= maryse.email_invalid_at <= datetime.datetime.now(tz=datetime.UTC)


@pytest.mark.parametrize(
    ("brevo_type", "motif"),
    [
        ("soft_bounce", "bounced"),
        ("invalid_email", "bounced"),
        ("blocked", "rejected"),
        ("spam", "complained"),
        ("complaint", "complained"),
    ],
)
def test_rejections_and_complaints_mark_the_account_too(maryse, brevo_type, motif):
    response = post_event(brevo_event(brevo_type, MARYSE_EMAIL), **basic_auth(SECRET))

    assert response.status_code == 200
    [(invalide_le, invalide_motif)] = marks(maryse)
    assert invalide_le is not None
    assert invalide_motif == motif


@pytest.mark.parametrize("brevo_type", ["delivered", "request", "unique_opened", "deferred"])
def test_a_delivery_or_an_opening_changes_nothing(maryse, brevo_type):
    response = post_event(brevo_event(brevo_type, MARYSE_EMAIL), **basic_auth(SECRET))

    assert response.status_code == 200
    assert marks(maryse) == [(None, "")]


def test_every_account_of_the_address_is_marked_in_one_update_and_no_other(maryse, convention):
    # The same person may be gestionnaire of another structure, or have an old inactive account.
    gestionnaire = GestionnaireFactory(email=MARYSE_EMAIL)
    old = TechnicienFactory(
        structure=convention.structure,
        email=MARYSE_EMAIL,
        is_active=False,
        inactivated_at=datetime.datetime(2026, 1, 5, 10, 0, tzinfo=PARIS),
    )
    other = TechnicienFactory(structure=convention.structure, email="victor@ccas.example")

    with CaptureQueriesContext(connection) as queries:
        response = post_event(
            brevo_event("hard_bounce", "Maryse.PICHON@CCAS-Creil.example"), **basic_auth(SECRET)
        )

    assert response.status_code == 200
    assert [motif for _le, motif in marks(maryse, gestionnaire, old)] == ["bounced"] * 3
    assert marks(other) == [(None, "")]
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert len(queries.captured_queries) == 1


# --- Where people see it --------------------------------------------------------------------


def gestionnaire_client(structure) -> Client:
    gestionnaire = GestionnaireFactory(structure=structure, email="jeanne.durand@ccas.example")
    client = Client()
    client.force_login(gestionnaire)
    # A single convention: selected without asking, as right after log-in.
    assert client.get(reverse("accounts:organisme_selection")).status_code == 302
    return client


def email_fact(response, identifiant: str) -> str:
    """The text of the "E-mail" line of the account's row in the list."""
    html = response.text
    row = html[html.index(f"<dd>{identifiant}</dd>") :]
    row = row[: row.index("</dl>")]
    start = row.index("<dt>E-mail</dt><dd>") + len("<dt>E-mail</dt><dd>")
    text = row[start : row.index("</dd>", start)]
    while "<" in text:  # drop tags, keep their text
        open_, close = text.index("<"), text.index(">")
        text = text[:open_] + text[close + 1 :]
    return " ".join(text.split())


def test_the_gestionnaires_list_shows_the_marker_next_to_the_email(maryse, convention):
    victor = TechnicienFactory(
        identifiant="v.chausson", structure=convention.structure, email="victor@ccas.example"
    )
    client = gestionnaire_client(convention.structure)
    post_event(brevo_event("hard_bounce", MARYSE_EMAIL), **basic_auth(SECRET))
    maryse.refresh_from_db()
    date = maryse.email_invalid_at.astimezone(PARIS)
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août"]
    months += ["septembre", "octobre", "novembre", "décembre"]

    response = client.get(reverse("accounts:techniciens"))

    assert response.status_code == 200
    assert email_fact(response, "m.pichon") == (
        f"{MARYSE_EMAIL} — adresse e-mail invalide (signalée par le fournisseur d'e-mails le "
        f"{date.day} {months[date.month - 1]} {date.year} : corrigez-la avec « Modifier »)"
    )
    assert email_fact(response, victor.identifiant) == "victor@ccas.example"


def modify(client, account, **changes):
    fields = ("civilite", "nom_patronymique", "nom_usuel", "prenom", "fonction", "telephone")
    data = {field: getattr(account, field) for field in (*fields, "email")}
    return client.post(
        reverse("accounts:technicien_modify", args=[account.pk]), {**data, **changes}
    )


def test_changing_the_email_clears_the_mark(maryse, convention):
    client = gestionnaire_client(convention.structure)
    post_event(brevo_event("hard_bounce", MARYSE_EMAIL), **basic_auth(SECRET))

    response = modify(client, maryse, email="maryse.pichon@laposte.example")

    assert response.status_code == 302
    maryse.refresh_from_db()
    assert maryse.email == "maryse.pichon@laposte.example"
    assert (maryse.email_invalid_at, maryse.email_invalide_motif) == (None, "")
    listing = client.get(reverse("accounts:techniciens"))
    assert email_fact(listing, "m.pichon") == "maryse.pichon@laposte.example"
    event = maryse.events.get(kind="modified")
    assert event.changes == {"email": [MARYSE_EMAIL, "maryse.pichon@laposte.example"]}


def test_changing_something_else_keeps_the_mark(maryse, convention):
    client = gestionnaire_client(convention.structure)
    post_event(brevo_event("spam", MARYSE_EMAIL), **basic_auth(SECRET))

    response = modify(client, maryse, telephone="06.00.00.00.00")

    assert response.status_code == 302
    [(invalide_le, motif)] = marks(maryse)
    assert invalide_le is not None
    assert motif == "complained"


def test_the_admin_list_of_partner_accounts_shows_and_filters_invalid_addresses(convention):
    agent = AgentFactory(organisme=convention.organisme)
    bounced = GestionnaireFactory(
        identifiant="m.pichon",
        structure=convention.structure,
        email=MARYSE_EMAIL,
        email_invalid_at=datetime.datetime(2026, 11, 20, 9, 15, tzinfo=PARIS),
        email_invalide_motif="bounced",
    )
    fine = GestionnaireFactory(
        identifiant="v.chausson", structure=convention.structure, email="victor@ccas.example"
    )
    client = Client()
    log_in_verified(client, agent)
    url = reverse("admin:accounts_partneraccount_changelist")

    response = client.get(url)

    assert response.status_code == 200
    assert "E-mail invalide" in response.text  # the column's title
    assert "depuis le 20/11/2026 (message non distribué)" in response.text
    listed = {account.pk for account in response.context["cl"].result_list}
    assert listed == {bounced.pk, fine.pk}

    only_invalid = client.get(url, {"email_invalide": "oui"})
    assert [a.pk for a in only_invalid.context["cl"].result_list] == [bounced.pk]
    only_valid = client.get(url, {"email_invalide": "non"})
    assert [a.pk for a in only_valid.context["cl"].result_list] == [fine.pk]
