"""A broker outage never turns a committed action into an error page (SPEC §10, e-mails).

Real parts: this test's own redis-server, on a free port, as Celery's broker, killed before the
gestionnaire submits the form. The account is committed, the gestionnaire sees the normal
confirmation, and the invitation is a row waiting to be sent (the re-drive of such rows once the
broker is back is issue 15's sweeper, not yet built).
"""

import logging

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, User
from espace_partenaires.celery import app as celery_app
from notifications.models import SentEmail
from tests.conftest import redis_answers, start_redis_server, use_broker
from tests.factories import ConventionFactory, GestionnaireFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

MARYSE = {
    "civilite": "MME",
    "nom_patronymique": "PICHON",
    "nom_usuel": "",
    "prenom": "Maryse",
    "fonction": "Bénévole",
    "telephone": "07.00.00.00.00",
    "email": "maryse.pichon@ccas.example",
}


@pytest.fixture
def broker_killed():
    """Celery publishes to this test's own Redis, which is then killed."""
    process, port = start_redis_server()
    use_broker(f"redis://127.0.0.1:{port}/0")
    celery_app.conf.task_always_eager = False
    process.kill()
    process.wait(timeout=10)
    assert not redis_answers("127.0.0.1", port)
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = True
        use_broker("memory://")


def test_a_technicien_created_while_the_broker_is_down_is_confirmed_and_kept(
    broker_killed, django_capture_on_commit_callbacks, caplog
):
    convention = ConventionFactory()
    gestionnaire = GestionnaireFactory(structure=convention.structure)
    client = Client()
    client.force_login(gestionnaire)
    assert client.get(reverse("accounts:organisme_selection")).status_code == 302

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:technicien_create"), MARYSE)

    assert response.status_code == 302  # the usual confirmation, not a 500
    technicien = User.objects.get(email=MARYSE["email"])
    assert Invitation.objects.filter(account=technicien).count() == 1
    [invitation_email] = SentEmail.objects.filter(account=technicien)
    assert invitation_email.status == SentEmail.Status.PENDING
    assert invitation_email.attempts == 0
    # The outage is logged, with the task and the ids, and nothing of the person.
    [record] = [r for r in caplog.records if "broker unreachable" in r.getMessage()]
    assert "accounts.tasks.send_invitation" in record.getMessage()
    assert "PICHON" not in caplog.text and MARYSE["email"] not in caplog.text
