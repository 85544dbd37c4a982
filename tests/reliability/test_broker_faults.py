"""A broker outage never turns a committed action into an error page, and loses no e-mail
(SPEC §10, e-mails; docs/reliability.md).

Real parts: this test's own redis-server, on a free port, as Celery's broker, killed before the
gestionnaire submits the form, then started again on the same port; a `celery worker` process on
the test database, writing its e-mails to files. The account is committed, the gestionnaire sees
the normal confirmation, the invitation is a row waiting to be sent; once the broker is back, the
sweeper publishes it again and the worker sends one invitation, whose link works.

Run with -s to see how long the e-mail took once the broker was back (docs/reliability.md).
"""

import logging
import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, User
from notifications.jobs import sweep_outbox
from notifications.models import SentEmail
from tests.factories import ConventionFactory, GestionnaireFactory
from tests.helpers import wait_for

from .conftest import sent_emails, text_of

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
LINK_RE = re.compile(r"http://127\.0\.0\.1:8000(/invitation/[A-Za-z0-9_-]+/)")


@pytest.fixture(autouse=True)
def outbox(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    # The row is due for the sweeper at once, rather than a minute after it was written.
    settings.EMAIL_SWEEP_DELAY_SECONDS = 0


def create_technicien_while_the_broker_is_down(redis_broker, caplog) -> User:
    """The gestionnaire creates Maryse's account while Redis is dead: 302, all kept."""
    convention = ConventionFactory()
    gestionnaire = GestionnaireFactory(structure=convention.structure)
    client = Client()
    client.force_login(gestionnaire)
    assert client.get(reverse("accounts:organisme_selection")).status_code == 302
    redis_broker.kill()

    with caplog.at_level(logging.ERROR):
        response = client.post(reverse("accounts:technicien_create"), MARYSE)

    assert response.status_code == 302  # the usual confirmation, not a 500
    technicien = User.objects.get(email=MARYSE["email"])
    assert Invitation.objects.filter(account=technicien).count() == 1
    [invitation_email] = SentEmail.objects.filter(account=technicien)
    assert invitation_email.status == SentEmail.Status.PENDING
    assert invitation_email.attempts == 0
    assert invitation_email.task == "accounts.tasks.send_invitation"
    # The outage is logged, with the task and the ids, and nothing of the person.
    [record] = [r for r in caplog.records if "broker unreachable" in r.getMessage()]
    assert "accounts.tasks.send_invitation" in record.getMessage()
    assert "PICHON" not in caplog.text and MARYSE["email"] not in caplog.text
    return technicien


def invitation_emails(mail_dir) -> list:
    return [m for m in sent_emails(mail_dir) if m["To"] == MARYSE["email"]]


def assert_one_invitation_whose_link_works(mail_dir, technicien: User) -> None:
    [message] = sent_emails(mail_dir)  # one e-mail in all, to Maryse
    assert message["To"] == MARYSE["email"]
    assert "Créer mon mot de passe" in text_of(message)
    [path] = LINK_RE.findall(text_of(message))
    response = Client().get(path, follow=True)
    assert response.status_code == 200
    assert 'name="new_password1"' in response.text  # the form to choose a password
    [row] = SentEmail.objects.filter(account=technicien)
    assert (row.status, row.attempts, row.context) == (SentEmail.Status.SENT, 1, {})


def test_a_technicien_created_while_the_broker_is_down_is_confirmed_then_invited_once_it_is_back(
    redis_broker, start_worker, mail_dir, caplog
):
    technicien = create_technicien_while_the_broker_is_down(redis_broker, caplog)

    redis_broker.restart()
    back = time.monotonic()
    worker = start_worker()  # a fresh worker, after the outage
    assert sweep_outbox().published == 1  # this process reconnects to the broker by itself
    assert wait_for(lambda: invitation_emails(mail_dir), timeout=60), worker.log_tail()
    elapsed = time.monotonic() - back

    print(f"\nbroker back → invitation written, with a worker started then: {elapsed:.2f} s")
    assert_one_invitation_whose_link_works(mail_dir, technicien)


def test_a_worker_running_through_the_outage_sends_the_invitation_once_the_broker_is_back(
    redis_broker, start_worker, mail_dir, caplog
):
    worker = start_worker()
    worker.wait_until_ready()
    technicien = create_technicien_while_the_broker_is_down(redis_broker, caplog)
    outage = time.monotonic()

    redis_broker.restart()
    back = time.monotonic()
    assert sweep_outbox().published == 1  # the sweeper's run after the outage
    assert wait_for(lambda: invitation_emails(mail_dir), timeout=60), worker.log_tail()
    elapsed = time.monotonic() - back

    print(
        f"\nbroker back → invitation written, by a worker that ran through the outage "
        f"({back - outage:.1f} s long): {elapsed:.2f} s"
    )
    assert_one_invitation_whose_link_works(mail_dir, technicien)
    assert worker.process.poll() is None  # the worker survived the outage
