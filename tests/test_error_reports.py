"""Issue 21, item 5: optional error reports through sentry-sdk, off by default, without personal
data.

A real local HTTP server stands for Sentry (sentry-sdk posts its envelopes to the DSN's host).
The portal runs in a process of its own, configured by the environment only (SENTRY_DSN,
SENTRY_ENVIRONMENT, SENTRY_RELEASE) on the test database: a technicien's demande, with the
insured person's names and an attachment, fails in the view (the attachments' folder cannot be
written), and an e-mail task fails (its template does not exist; its context holds the insured
person's names). The task runs eagerly in that process (CELERY_TASK_ALWAYS_EAGER=true), through
Celery's tracer, which sentry-sdk's Celery integration wraps as it does in a worker.
"""

import gzip
import http.server
import json
import re
import threading
import zlib
from pathlib import Path

import pytest

from core.nir import contains_nir
from notifications.models import SentEmail
from tests.browser.scenario import create_offres
from tests.factories import TechnicienFactory
from tests.helpers import with_all_offres
from tests.reliability.conftest import database_url
from tests.test_production_defaults import PRODUCTION, manage

ROOT = Path(__file__).resolve().parent.parent
NIR = "1 85 05 78 006 084 36"
NAMES = ("DUPUIS", "Jeanne")
COMMENT = "Mme Dupuis souhaite être accompagnée pour sa complémentaire santé solidaire."


class Sentry(http.server.ThreadingHTTPServer):
    """What sentry-sdk sends to the DSN's host: the envelopes, decompressed."""

    def __init__(self):
        self.envelopes: list[bytes] = []
        super().__init__(("127.0.0.1", 0), EnvelopeHandler)

    @property
    def dsn(self) -> str:
        return f"http://0123456789abcdef@127.0.0.1:{self.server_address[1]}/1"


class EnvelopeHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        else:
            assert encoding == "", encoding
        self.server.envelopes.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry():
    server = Sentry()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def items(envelope: bytes) -> list[tuple[dict, bytes]]:
    """(item header, payload) of a Sentry envelope: a header line, then each item's header line
    and its payload (`length` bytes, or up to the end of the line)."""
    _, _, rest = envelope.partition(b"\n")
    found = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        header = json.loads(line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        found.append((header, payload))
    return found


def events(sentry: Sentry) -> list[dict]:
    return [
        json.loads(payload)
        for envelope in sentry.envelopes
        for header, payload in items(envelope)
        if header.get("type") == "event"
    ]


# Runs in the portal's process: the view's failure, through the WSGI application as gunicorn
# calls it (sentry-sdk wraps Django's WSGI handler), then the task's; then waits for the sends.
SCRIPT = """
import sentry_sdk
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from accounts.models import User
from espace_partenaires.wsgi import application
from notifications.tasks import send_email
from tests.helpers import PDF

client = Client()
client.force_login(User.objects.get(identifiant="t.lambert"))
client.get("/organisme/")
session = client.cookies["sessionid"].value
csrf = "k" * 32
request = RequestFactory().post(
    "/demandes/nouvelle/etude-dossier/?q={nir}",
    {{
        "csrfmiddlewaretoken": csrf,
        "civilite": "MME", "nom": "DUPUIS", "prenom": "Jeanne", "date_naissance": "1950-04-12",
        "departement": "60", "motif": "c2s", "consentement": "on", "commentaire": "{comment}",
        "pieces": [SimpleUploadedFile("attestation.pdf", PDF, "application/pdf")],
    }},
    HTTP_COOKIE=f"sessionid={{session}}; csrftoken={{csrf}}",
    HTTP_REFERER="http://testserver/demandes/?q={nir}",
    HTTP_X_FORWARDED_FOR="192.0.2.15",
)
answer = {{}}
def start_response(status, headers, exc_info=None):
    answer.update(status=status.split()[0], headers=dict(headers))
b"".join(application(request.environ, start_response))
print("view", answer["status"], answer["headers"]["X-Request-ID"], session)
result = send_email.delay({pk})
print("task", result.failed())
sentry_sdk.flush(timeout=10)
"""


@pytest.mark.django_db(transaction=True)
def test_a_views_and_a_tasks_errors_reach_sentry_without_personal_data(sentry, tmp_path):
    create_offres()  # the flush of an earlier transactional test removed them
    convention = with_all_offres()
    TechnicienFactory(
        structure=convention.structure, identifiant="t.lambert", email="t.lambert@ccas.example"
    )
    row = SentEmail.objects.create(
        template="modele/inexistant",
        recipient="t.lambert@ccas.example",
        context={"nom": "DUPUIS", "prenom": "Jeanne", "commentaire": COMMENT, "nir": NIR},
    )
    media = tmp_path / "media"
    media.mkdir()
    (media / "pieces-jointes").write_text("a file where the attachments' folder should be")

    result = manage(
        "shell",
        "--no-imports",
        "-c",
        SCRIPT.format(nir=NIR.replace(" ", "+"), comment=COMMENT, pk=row.pk),
        **{**PRODUCTION, "ALLOWED_HOSTS": "testserver", "CACHE_URL": "locmemcache://"},
        HTTPS="false",
        DATABASE_URL=database_url(),
        MEDIA_ROOT=str(media),
        UPLOADS_WITHOUT_ANTIVIRUS="true",
        CELERY_TASK_ALWAYS_EAGER="true",
        SENTRY_DSN=sentry.dsn,
        SENTRY_ENVIRONMENT="recette",
        SENTRY_RELEASE="espace-partenaires@2026.12.1",
        LOG_LEVEL="CRITICAL",
    )

    assert result.returncode == 0, result.stderr
    view_line, task_line = result.stdout.strip().splitlines()[-2:]
    _, status, request_id, session_key = view_line.split()
    assert status == "500"
    assert task_line == "task True"

    # Nothing personal anywhere in what was sent (checked first: it is the point).
    everything = b"\n".join(sentry.envelopes).decode()
    # Without the envelope's own hexadecimal ids (event, trace: 32 digits; spans: 16), whose
    # digits now and then spell a year ("1950" in span a8ab3f3cb9195086) or a NIR's shape by
    # chance (37 random 16-digit ids in 20,000).
    scrubbed = re.sub(r"[0-9a-f-]{16,}", " ", everything)
    assert session_key not in everything
    for secret in (*NAMES, "Dupuis", "1950", COMMENT[:30], "t.lambert@", "192.0.2.15"):
        assert secret not in scrubbed, secret
    digits = re.sub(r"\D", "", everything)
    assert re.sub(r"\D", "", NIR) not in digits
    assert not contains_nir(scrubbed)

    reported = events(sentry)
    view = [e for e in reported if e.get("request", {}).get("method") == "POST"]
    task = [e for e in reported if e.get("tags", {}).get("celery_task_id")]
    assert len(view) == 1 and len(task) == 1, [e.get("exception") for e in reported]
    [view], [task] = view, task
    assert view["exception"]["values"][-1]["type"] == "NotADirectoryError"
    assert task["exception"]["values"][-1]["type"] == "TemplateDoesNotExist"
    assert task["extra"]["celery-job"] == {
        "task_name": "notifications.tasks.send_email",
        "args": "[Filtered]",
        "kwargs": "[Filtered]",
    }
    for event in (view, task):
        assert event["environment"] == "recette"
        assert event["release"] == "espace-partenaires@2026.12.1"
        assert "user" not in event
    assert view["tags"]["request_id"] == request_id
    assert view["request"]["url"] == "http://testserver/demandes/nouvelle/etude-dossier/"
    assert set(view["request"]) <= {"method", "url", "headers"}
    assert {k.lower() for k in view["request"]["headers"]} <= {
        "host",
        "content-type",
        "content-length",
        "x-request-id",
    }
    frames = [
        frame
        for event in (view, task)
        for exception in event["exception"]["values"]
        for frame in exception["stacktrace"]["frames"]
    ]
    assert frames and not [frame for frame in frames if "vars" in frame]


def test_without_sentry_dsn_sentry_sdk_is_not_even_imported():
    check = "import sys; print('sentry_sdk' in sys.modules)"

    production = {**PRODUCTION, "CACHE_URL": "locmemcache://"}
    off = manage("shell", "--no-imports", "-c", check, **production)
    on = manage(
        "shell",
        "--no-imports",
        "-c",
        check + "; import sentry_sdk; print(sentry_sdk.get_client().is_active())",
        **production,
        SENTRY_DSN="http://0123456789abcdef@127.0.0.1:9/1",
    )

    assert off.returncode == 0, off.stderr
    assert off.stdout.split() == ["False"]
    assert on.returncode == 0, on.stderr
    assert on.stdout.split() == ["True", "True"]
