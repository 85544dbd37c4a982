"""What the load balancer and the monitoring see: /healthz, `outbox_status`, notifications.W002."""

import dataclasses
import datetime
import html
import io
import json
import os
import socket
import threading
import time

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.contrib.sessions.models import Session
from django.core import checks
from django.core.management import call_command
from django.db import OperationalError, connections
from health_check.base import HealthCheck

from core.health import HealthCheckView
from espace_partenaires.celery import app as celery_app
from notifications.models import SentEmail
from tests.conftest import use_broker
from tests.factories import GestionnaireFactory
from tests.helpers import free_port

HEALTHZ = "/healthz"
DATABASE = "Database(alias='default')"
CACHE = "Cache(alias='default')"
STORAGE = "Storage(alias='attachments')"
BROKER = "Broker()"
EVERY_CHECK = (DATABASE, CACHE, STORAGE, BROKER)


def health(client) -> tuple[int, dict[str, str]]:
    response = client.get(HEALTHZ, {"format": "json"})
    return response.status_code, json.loads(response.content)


# --- /healthz -----------------------------------------------------------------------------------


def test_an_anonymous_load_balancer_gets_200_with_every_check_ok(client, db):
    response = client.get(HEALTHZ)  # a load balancer's probe: no Accept header, no cookie

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    for name in EVERY_CHECK:
        assert name in page
    assert "OK" in page
    # Nothing written for the probe: no cookie (session, CSRF), no session row.
    assert not response.cookies
    assert not Session.objects.exists()


def test_the_json_answer_names_each_check_and_says_nothing_else(client, db):
    # An account exists; none of what it holds may appear in the answer.
    account = GestionnaireFactory(email="maryse.pichon@partenaire.example")

    status, answer = health(client)

    assert status == 200
    assert answer == dict.fromkeys(EVERY_CHECK, "OK")
    body = json.dumps(answer)
    for personal in (account.email, account.identifiant, account.nom_patronymique):
        assert personal not in body


def test_plain_text_as_well(client, db):
    response = client.get(HEALTHZ, {"format": "text"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().splitlines() == [f"{name}: OK" for name in EVERY_CHECK]


def test_a_logged_in_partner_who_owes_the_cgu_is_not_redirected(client, db):
    client.force_login(GestionnaireFactory(cgu_version="", cgu_accepted_at=None))

    assert health(client)[0] == 200


def test_not_redirected_to_https_behind_a_tls_proxy(client, db, settings):
    """The load balancer probes gunicorn in plain HTTP, without X-Forwarded-Proto."""
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/").status_code == 301  # the rest of the portal is redirected
    assert health(client)[0] == 200


def test_not_rate_limited(client, db):
    assert {health(client)[0] for _ in range(30)} == {200}


def test_a_database_that_does_not_answer_fails_the_health_check(client, db, monkeypatch):
    def refuse(self, name=None):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        # The check runs in a thread of its own, on a connection of its own: patch the class.
        patch.setattr(type(connections["default"]), "create_cursor", refuse)
        status, answer = health(client)

    assert status == 500
    assert answer.pop(DATABASE).startswith("Unavailable")
    assert set(answer.values()) == {"OK"}


def test_an_unreachable_broker_fails_the_health_check(client, db):
    use_broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        status, answer = health(client)
    finally:
        use_broker("memory://")

    assert status == 500
    assert answer.pop(BROKER) == "Unavailable: the broker does not answer"
    assert set(answer.values()) == {"OK"}


@pytest.mark.redis
def test_a_real_redis_broker_is_healthy(client, db, redis_server):
    use_broker(redis_server)
    try:
        assert health(client) == (200, dict.fromkeys(EVERY_CHECK, "OK"))
    finally:
        use_broker("memory://")


def test_a_silent_broker_fails_within_the_checks_timeout(client, db):
    """A server that takes the connection and never answers (a Redis stopped with SIGSTOP)."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        use_broker(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        start = time.monotonic()
        try:
            status, answer = health(client)
        finally:
            use_broker("memory://")
        elapsed = time.monotonic() - start

    assert status == 500
    assert answer[BROKER] == "Unavailable: the broker does not answer"
    assert elapsed < 10  # the check's own 2 s, not the client library's defaults


def test_the_embedded_filesystem_broker_needs_its_folders(client, db, monkeypatch, tmp_path):
    folders = {"data_folder_in": str(tmp_path / "in"), "data_folder_out": str(tmp_path / "out")}
    monkeypatch.setitem(celery_app.conf, "broker_transport_options", folders)
    use_broker("filesystem://localhost//")
    try:
        missing = health(client)
        for folder in folders.values():
            os.mkdir(folder)
        present = health(client)
    finally:
        use_broker("memory://")

    assert missing[0] == 500
    assert missing[1][BROKER] == "Unavailable: the broker does not answer"
    assert present == (200, dict.fromkeys(EVERY_CHECK, "OK"))


def test_a_check_stuck_past_its_timeout_does_not_hold_the_answer(rf):
    """Under WSGI, asyncio.run waited for the loop's default executor, hence for the stuck check:
    the answer came when the client library gave up, minutes later, holding a gunicorn worker."""
    release = threading.Event()

    @dataclasses.dataclass
    class Stuck(HealthCheck):
        timeout = datetime.timedelta(seconds=0.1)

        def run(self):
            release.wait(timeout=30)

    view = HealthCheckView.as_view(checks=[Stuck])
    start = time.monotonic()
    try:
        response = async_to_sync(view)(rf.get(HEALTHZ, {"format": "text"}))
        elapsed = time.monotonic() - start
    finally:
        release.set()

    assert response.status_code == 500
    assert "Timed out" in response.content.decode()
    assert elapsed < 10


def test_an_attachments_storage_that_cannot_write_fails_the_health_check(
    client, db, settings, tmp_path
):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(not_a_folder), "base_url": None},
        },
    }

    status, answer = health(client)

    assert status == 500
    assert answer.pop(STORAGE) != "OK"
    assert set(answer.values()) == {"OK"}


# --- outbox_status ------------------------------------------------------------------------------


def outbox_status() -> str:
    out = io.StringIO()
    call_command("outbox_status", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_outbox_status_without_any_pending_email():
    SentEmail.objects.create(
        template="invitation", recipient="a@partenaire.example", status=SentEmail.Status.SENT
    )

    assert outbox_status() == "pending=0 oldest_seconds=0\n"


@pytest.mark.django_db
def test_outbox_status_counts_the_pending_emails_and_ages_the_oldest():
    start = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        SentEmail.objects.create(template="invitation", recipient="a@partenaire.example")
    with time_machine.travel(start + datetime.timedelta(seconds=100), tick=False):
        SentEmail.objects.create(template="invitation", recipient="b@partenaire.example")
        SentEmail.objects.create(
            template="invitation", recipient="c@partenaire.example", status="sent"
        )
        # Claimed by a worker, not sent yet (a worker may have died with it): it waits too.
        SentEmail.objects.create(
            template="invitation", recipient="d@partenaire.example", status="sending"
        )
    with time_machine.travel(start + datetime.timedelta(seconds=125.6), tick=False):
        assert outbox_status() == "pending=3 oldest_seconds=125\n"


# --- notifications.W002: the sweeper in the beat schedule ---------------------------------------


@pytest.fixture
def beat_schedule(monkeypatch):
    """Set the Celery app's beat schedule for the test (after the project's own is in place)."""
    celery_app.finalize()
    return lambda schedule: monkeypatch.setitem(celery_app.conf, "beat_schedule", schedule)


def deploy_warnings() -> list[str]:
    return [
        message.id
        for message in checks.run_checks(include_deployment_checks=True)
        if message.id == "notifications.W002"
    ]


def test_check_deploy_warns_when_the_sweeper_is_not_scheduled(db, beat_schedule):
    beat_schedule({"purge": {"task": "notifications.tasks.purge_sent_email_log", "schedule": 60}})

    assert deploy_warnings() == ["notifications.W002"]


def test_no_warning_once_the_sweeper_is_scheduled(db, beat_schedule):
    beat_schedule(
        {
            "purge": {"task": "notifications.tasks.purge_sent_email_log", "schedule": 3600},
            "sweep": {"task": "notifications.tasks.sweep_outbox", "schedule": 60.0},
        }
    )

    assert deploy_warnings() == []


def test_the_warning_is_a_deploy_check_only(db, beat_schedule):
    beat_schedule({})

    assert "notifications.W002" not in [message.id for message in checks.run_checks()]
