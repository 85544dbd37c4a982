"""Issue 21, item 4: the log lines (core/logs.py). The whole journey's logs are scanned in
tests/reliability/test_log_scan.py; here, each part on its own: the request id (kept when
well-formed, returned, on the lines, given to the tasks and kept by the outbox), the JSON line's
keys, and the redaction filter (the last line of defence)."""

import io
import json
import logging

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from core import logs
from espace_partenaires.celery import app as celery_app
from notifications.jobs import sweep_outbox
from notifications.models import SentEmail
from notifications.services import schedule_email
from tests.factories import TechnicienFactory
from tests.helpers import REFERENT_WARNING, log_in_verified, wait_for

NIR = "1 85 05 78 006 084 36"


@pytest.fixture
def lines():
    """The lines of a handler as settings.LOGGING's with LOG_FORMAT=json, on the root logger."""
    console = logs.logging_config("json", "DEBUG")["handlers"]["console"]
    assert console["filters"] == ["context", "redact"]
    # The tasks' modules imported now: Celery's Django fixup sets Django up again (LOGGING) on
    # their first import, which would drop this handler.
    celery_app.loader.import_default_modules()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    handler.addFilter(logs.RedactFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# --- The request id ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("0f8e4a12b3c44d5e8f90a1b2c3d4e5f6", True),  # a proxy's hex id
        ("0f8e4a12-b3c4-4d5e-8f90-a1b2c3d4e5f6", True),  # a UUID
        ("lb-2026.12.01_req-42", True),
        ("short", False),
        ("x" * 65, False),
        ('x" level="CRITICAL', False),
        ("abc def ghi jkl", False),
        ("id\nforged line", False),
        ("ref-185057800608436", False),  # a NIR in it
        ("", False),
    ],
)
@pytest.mark.django_db
def test_an_incoming_request_id_is_kept_only_when_well_formed(client, incoming, kept):
    response = client.get(reverse("accounts:login"), HTTP_X_REQUEST_ID=incoming)

    answered = response["X-Request-ID"]
    assert (answered == incoming) is kept
    assert logs.well_formed_request_id(answered) == answered


@pytest.mark.django_db
def test_every_line_of_a_request_carries_its_id_and_the_completion_line_its_measures(lines):
    technicien = TechnicienFactory()
    client = Client()
    log_in_verified(client, technicien)

    response = client.get(reverse("home"), {"q": NIR}, HTTP_X_REQUEST_ID="req-0001-abcdef")

    [line] = [line for line in lines() if line["logger"] == logs.REQUEST_LOGGER]
    assert response["X-Request-ID"] == "req-0001-abcdef"
    assert line["request_id"] == "req-0001-abcdef"
    assert line["user_id"] == technicien.pk
    assert (line["method"], line["path"]) == ("GET", "/")
    assert line["status"] == response.status_code
    assert isinstance(line["duration_ms"], float)
    assert line["message"] == f"GET / {response.status_code}"
    assert set(line) == {
        *["time", "level", "logger", "message", "request_id", "user_id"],
        *logs.REQUEST_FIELDS,
    }


@pytest.mark.django_db
def test_the_secrets_of_a_path_are_masked(lines, client):
    client.get("/invitation/un-jeton-secret-d-invitation/")

    paths = [line["path"] for line in lines() if line["logger"] == logs.REQUEST_LOGGER]
    assert paths == ["/invitation/…/"]
    assert "un-jeton-secret" not in json.dumps(lines())


@pytest.mark.django_db
def test_a_not_found_line_of_django_holds_neither_the_query_string_nor_the_request(lines, client):
    """django.request passes the request itself as an extra, whose repr holds the query string:
    the formatter writes only its own keys."""
    client.get("/page-inexistante/", {"q": NIR})

    [line] = [line for line in lines() if line["logger"] == "django.request"]
    assert line["message"] == "Not Found: /page-inexistante/"
    assert "request" not in line and "status_code" not in line
    assert "q=" not in json.dumps(lines())


# --- Tasks ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_email_scheduled_by_a_request_carries_its_id_to_the_task_and_the_outbox_keeps_it(
    real_worker, django_capture_on_commit_callbacks, lines
):
    """A real worker (in a thread, on the in-memory broker, then a real Redis): the task's
    message has the id in its headers, and the sweeper's later publish of the row too."""
    with (
        logs.RequestContext("req-0002-abcdef"),
        transaction.atomic(),
        django_capture_on_commit_callbacks(execute=False),
    ):
        sent = schedule_email(
            template="conventions/fin_proche_referent",
            recipient="referent@cpam.example",
            context=REFERENT_WARNING,
        )  # published after commit: here, never (the sweeper's turn)
    assert sent.request_id == "req-0002-abcdef"
    SentEmail.objects.filter(pk=sent.pk).update(next_attempt_at=sent.created_at)

    assert sweep_outbox().published == 1
    assert wait_for(lambda: SentEmail.objects.get(pk=sent.pk).status == "sent")

    [line] = [line for line in lines() if line["message"].startswith("e-mail sent")]
    assert line["request_id"] == "req-0002-abcdef"
    assert celery_app.conf.task_always_eager is False


@pytest.mark.django_db
def test_a_task_of_the_beat_schedule_has_its_own_task_id_on_its_lines(lines, settings):
    """Eager (as in the tests), outside any request: the sweeper's own task id, which the
    e-mail it publishes again (from no request) carries too."""
    settings.EMAIL_SWEEP_DELAY_SECONDS = 0
    sent = schedule_email(
        template="conventions/fin_proche_referent",
        recipient="referent@cpam.example",
        context=REFERENT_WARNING,
    )
    assert sent.request_id == ""

    result = celery_app.tasks["notifications.tasks.sweep_outbox"].delay()

    [sweep] = [line for line in lines() if line["message"].startswith("sweep_outbox")]
    [email] = [line for line in lines() if line["message"].startswith("e-mail sent")]
    assert sweep["request_id"] == email["request_id"] == result.id
    assert logs.current_request_id() is None


# --- The last line of defence -----------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        f"assuré {NIR}",
        "assuré 1-85-05-78-006-084-36",
        "NIR185057800608436",
        "écrit à jeanne.dupuis@example.fr",
    ],
)
def test_a_nir_or_an_address_logged_by_mistake_is_masked_and_the_line_says_so(lines, message):
    logging.getLogger("demandes").warning("oops: %s", message)

    [line] = lines()
    assert line["redacted"] is True
    assert not logs.looks_personal(line["message"])
    assert "jeanne.dupuis" not in line["message"]


def test_a_traceback_holding_a_nir_is_masked(lines):
    try:
        raise ValueError(f"bad value {NIR}")
    except ValueError:
        logging.getLogger("demandes").exception("failed")

    [line] = lines()
    assert line["redacted"] is True
    assert "ValueError: bad value # ## ## ## ### ### ##" in line["exc_info"]


def test_ids_and_times_are_not_taken_for_a_nir(lines):
    logging.getLogger("celery.app.trace").info(
        "Task x[1a2b3c4d-1234-4567-8901-234567890123] succeeded in 0.0123s: %s",
        {"published": 3, "at": "2026-12-01 12:30:45"},
    )

    [line] = lines()
    assert "redacted" not in line


def test_an_unknown_log_format_is_refused_with_the_variable_named():
    with pytest.raises(ValueError, match="LOG_FORMAT='xml'"):
        logs.logging_config("xml", "INFO")


def test_a_generated_request_id_never_looks_like_a_nir():
    # About 1 random 32-hex id in 500 has digits that read as a NIR: such an id would be
    # refused if it came back, and written in every line of its request.
    ids = [logs.new_request_id() for _ in range(5000)]

    assert all(logs.well_formed_request_id(request_id) == request_id for request_id in ids)
