"""SPEC §4 and §7: the maximum number of active techniciens holds under concurrent requests.

Twenty gestionnaire browsers post at the same instant for the last free place: exactly one
wins. These tests use real transactions and one database connection per thread (SQLite here,
PostgreSQL in CI).
"""

import functools
import re
from collections.abc import Callable

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEvent, Civilite, Invitation, User
from tests.factories import ConventionFactory, GestionnaireFactory, TechnicienFactory
from tests.helpers import all_succeed

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20
LIST_URL = reverse("accounts:techniciens")
QUOTA_REFUSAL = "Le nombre maximum de techniciens actifs prévu par la convention (5) est atteint."
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture
def convention():
    convention = ConventionFactory(max_techniciens=5)
    for number in range(4):  # one free place left
        TechnicienFactory(
            structure=convention.structure,
            nom_patronymique=f"ACTIF {LETTERS[number]}",
            email=f"actif{number}@example.org",
        )
    return convention


@pytest.fixture
def clients(convention) -> list[Client]:
    """One browser per thread, each logged in as one of the structure's two gestionnaires,
    with the organisme of the convention selected."""
    gestionnaires = [
        GestionnaireFactory(structure=convention.structure, email=f"gestion{number}@example.org")
        for number in range(2)
    ]
    browsers = []
    for number in range(THREADS):
        browser = Client()
        browser.force_login(gestionnaires[number % 2])
        browser.get(reverse("accounts:organisme_selection"))
        assert browser.get(LIST_URL).status_code == 200
        browsers.append(browser)
    return browsers


def post_all_at_once(clients: list[Client], request: Callable[[int, Client], object]) -> list:
    """Run request(number, client) in one thread per client, released together."""
    return all_succeed(
        *(functools.partial(request, number, client) for number, client in enumerate(clients))
    )


def outcome(response) -> str:
    """'created'/'reactivated', 'refused' (form error or redirect with message), or what else."""
    if response.status_code == 302 and response["Location"] == LIST_URL:
        texts = [str(message) for message in get_messages(response.wsgi_request)]
        if texts == [QUOTA_REFUSAL]:
            return "refused"
        if len(texts) == 1 and " est créé avec l'identifiant " in texts[0]:
            return "created"
        if len(texts) == 1 and " est réactivé." in texts[0]:
            return "reactivated"
        return f"redirect with {texts}"
    if response.status_code == 200:
        # The page itself, not response.context: the test client gathers the contexts of the
        # templates rendered meanwhile by every thread.
        summary = r'<div class="form-errors" role="alert"[^>]*>.*?</div>'
        errors = re.search(summary, response.text, re.S)
        if errors and f"<li>{QUOTA_REFUSAL}</li>" in errors.group(0):
            return "refused"
        return f"page with errors {errors and errors.group(0)}"
    return f"status {response.status_code}"


def test_twenty_gestionnaires_adding_the_last_place_at_once_create_exactly_one_account(
    convention, clients
):
    structure = convention.structure
    accounts_before = set(User.objects.values_list("pk", flat=True))

    def create(number: int, client: Client):
        return client.post(
            reverse("accounts:technicien_create"),
            {
                "civilite": Civilite.MONSIEUR,
                "nom_patronymique": f"NOUVEAU {LETTERS[number]}",
                "nom_usuel": "",
                "prenom": "Victor",
                "fonction": "Bénévole",
                "telephone": "0700000000",
                "email": f"nouveau{number}@example.org",
            },
        )

    responses = post_all_at_once(clients, create)

    outcomes = sorted(outcome(response) for response in responses)
    assert outcomes == ["created"] + ["refused"] * (THREADS - 1)
    [created] = User.objects.exclude(pk__in=accounts_before)
    assert created.structure == structure
    assert created.is_active
    assert structure.active_techniciens().count() == convention.max_techniciens
    assert AccountEvent.objects.filter(kind=AccountEvent.Kind.CREATED).count() == 1
    assert Invitation.objects.count() == 1
    assert [email.to for email in mail.outbox] == [[created.email]]


def test_twenty_reactivations_of_the_last_place_at_once_reactivate_exactly_one_account(
    convention, clients
):
    structure = convention.structure
    inactive = [
        TechnicienFactory(
            structure=structure,
            nom_patronymique=f"PARTI {LETTERS[number]}",
            email=f"parti{number}@example.org",
            is_active=False,
            inactivated_at=timezone.now(),
        )
        for number in range(THREADS)
    ]

    def reactivate(number: int, client: Client):
        return client.post(
            reverse("accounts:technicien_reactivate", args=[inactive[number].pk]),
            {"motif": "Retour d'absence de longue durée"},
        )

    responses = post_all_at_once(clients, reactivate)

    outcomes = sorted(outcome(response) for response in responses)
    assert outcomes == ["reactivated"] + ["refused"] * (THREADS - 1)
    [reactivated] = User.objects.filter(pk__in=[account.pk for account in inactive], is_active=True)
    assert reactivated.inactivated_at is None
    assert reactivated.reactivation_reason == "Retour d'absence de longue durée"
    assert structure.active_techniciens().count() == convention.max_techniciens
    assert list(
        AccountEvent.objects.filter(kind=AccountEvent.Kind.REACTIVATED).values_list(
            "account", flat=True
        )
    ) == [reactivated.pk]
    assert not User.objects.filter(
        pk__in=[account.pk for account in inactive if account.pk != reactivated.pk],
        reactivation_reason__gt="",
    ).exists()
    assert [email.to for email in mail.outbox] == [[reactivated.email]]
