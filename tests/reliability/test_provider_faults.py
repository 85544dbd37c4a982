"""The e-mail provider fails: the row retries with back-off, then fails, and an agent resends it
from the admin (SPEC §10, e-mails; docs/reliability.md).

Real parts: anymail's Brevo backend, configured through Django's MAILERS as settings.py does for
MAILER=anymail, posting over HTTP to a server of this test standing for Brevo's API (the network
boundary): it answers 500 a few times, then accepts. Tasks run in the test's thread (eager); the
clock is moved on through the back-offs.
"""

import datetime
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from notifications import jobs
from notifications.models import SentEmail
from tests.factories import AgentFactory, ConventionFactory, GestionnaireFactory
from tests.helpers import log_in_verified

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
API_KEY = "xkeysib-test-only"
LINK_RE = re.compile(r"http://127\.0\.0\.1:8000(/invitation/[A-Za-z0-9_-]+/)")


class FakeBrevo(ThreadingHTTPServer):
    """Brevo's transactional API (POST /v3/smtp/email): each request is kept; it answers the
    statuses it was given, one per request, then 201 with a message id."""

    def __init__(self, *statuses: int):
        super().__init__(("127.0.0.1", 0), BrevoHandler)
        self.statuses = list(statuses)
        self.received: list[dict] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v3/"


class BrevoHandler(BaseHTTPRequestHandler):
    server: FakeBrevo

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append(
            {"path": self.path, "api_key": self.headers["api-key"], "body": body}
        )
        status = self.server.statuses.pop(0) if self.server.statuses else 201
        if status == 201:
            answer = {"messageId": f"<{uuid.uuid4().hex}@smtp-relay.mailin.fr>"}
        else:
            answer = {"code": "internal_error", "message": "Internal server error"}
        content = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format, *args):
        pass  # quiet


@pytest.fixture
def brevo(settings):
    """Brevo down for three requests, then up; anymail's backend pointed at it."""
    server = FakeBrevo(500, 500, 500)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "anymail.backends.brevo.EmailBackend",
            "OPTIONS": {"api_key": API_KEY, "api_url": server.api_url},
        }
    }
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def outbox(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.EMAIL_SWEEP_DELAY_SECONDS = 60
    settings.EMAIL_RETRY_BACKOFF_SECONDS = 60
    settings.EMAIL_MAX_ATTEMPTS = 3
    settings.EMAIL_SEND_LEASE_SECONDS = 300


def test_provider_errors_back_off_then_fail_then_the_agent_resends_from_the_admin(
    brevo, outbox, django_capture_on_commit_callbacks
):
    convention = ConventionFactory()
    agent = AgentFactory(organisme=convention.organisme)
    gestionnaire = GestionnaireFactory(structure=convention.structure, password=None)

    with time_machine.travel(START, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            account_services.invite(gestionnaire, by=agent)  # attempt 1: 500
        row = SentEmail.objects.get(account=gestionnaire)
        assert (row.status, row.attempts, row.error) == (
            SentEmail.Status.PENDING,
            1,
            "AnymailRequestsAPIError",
        )
        backoffs = [row.next_attempt_at - START]

        clock.shift(datetime.timedelta(seconds=59))
        assert jobs.sweep_outbox().published == 0  # still backing off
        clock.shift(datetime.timedelta(seconds=1))
        assert jobs.sweep_outbox().published == 1  # attempt 2: 500
        row.refresh_from_db()
        backoffs.append(row.next_attempt_at - datetime.datetime.now(datetime.UTC))
        assert (row.status, row.attempts) == (SentEmail.Status.PENDING, 2)

        clock.shift(backoffs[-1])
        assert jobs.sweep_outbox().published == 1  # attempt 3, the last: 500
        row.refresh_from_db()
        assert (row.status, row.attempts, row.next_attempt_at, row.error) == (
            SentEmail.Status.FAILED,
            3,
            None,
            "AnymailRequestsAPIError",
        )
        assert backoffs == [datetime.timedelta(seconds=60), datetime.timedelta(seconds=120)]
        clock.shift(datetime.timedelta(hours=2))
        assert jobs.sweep_outbox().published == 0  # failed: left to an agent
        assert len(brevo.received) == 3

        # The agent sees the failed row in the admin, and resends it: Brevo is back.
        client = Client()
        log_in_verified(client, agent)
        changelist = reverse("admin:notifications_sentemail_changelist")
        listed = client.get(changelist, {"status__exact": "failed"})
        assert [sent.pk for sent in listed.context["cl"].result_list] == [row.pk]
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                changelist,
                {"action": "renvoyer", "_selected_action": [row.pk], "index": "0"},
                follow=True,
            )
        assert "1 e-mail est renvoyé." in response.text

        row.refresh_from_db()
        assert (row.status, row.attempts, row.error) == (SentEmail.Status.SENT, 1, "")
        assert len(brevo.received) == 4
        accepted = brevo.received[-1]
        assert accepted["path"] == "/v3/smtp/email"
        assert accepted["api_key"] == API_KEY
        assert [to["email"] for to in accepted["body"]["to"]] == [gestionnaire.email]
        # The link made at the resend, two hours later, is the one that works.
        [path] = LINK_RE.findall(accepted["body"]["textContent"])
        page = Client().get(path, follow=True)
        assert page.status_code == 200
        assert 'name="new_password1"' in page.text
