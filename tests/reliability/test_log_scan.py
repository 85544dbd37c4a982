"""Issue 21, item 4: the logs of a whole journey, in JSON lines, hold no personal data.

A technicien logs in, searches the history for a NIR, tries a demande whose comment holds a NIR
(refused), sends an urgent demande for the demo's insured person; the fund's agent takes it,
asks a complement (after a refused NIR), the partner answers with an attachment, both write a
message, the agent closes it. The e-mails go through the outbox to a real `celery worker`
process on a real Redis, which sends them (MAILER=local: to files, read here).

Every log line is captured at DEBUG, of every logger: the web side's (this process, configured
with the LOGGING that settings.py builds for LOG_FORMAT=json, LOG_LEVEL=DEBUG) and the worker's
(its stderr). Every line must be JSON with the keys; the request lines carry their request id
and the lines of the tasks a request scheduled carry the same id; and no line holds the insured
person's names, a NIR in any spelling core.nir knows, an account's e-mail address, or a line of
an e-mail's body. No line was masked by the redaction filter: the code does not log them in the
first place.
"""

import datetime
import json
import logging
import logging.config
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from core.nir import contains_nir
from demandes.models import Demande, Statut
from notifications.models import SentEmail
from tests.browser.scenario import create_offres
from tests.factories import TEST_PASSWORD, AgentFactory, TechnicienFactory
from tests.helpers import PDF, log_in, log_in_verified, wait_for, with_all_offres

from .conftest import sent_emails, text_of

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"time", "level", "logger", "message", "request_id", "user_id"}
REQUEST_KEYS = {"method", "path", "status", "duration_ms"}

# The demo's insured persons (seed_demo) and the helpers' (tests.helpers.make_demande).
INSURED = {
    "nom": "DUPUIS",
    "prenom": "Jeanne",
    "date_naissance": "1950-04-12",
}
OTHER_INSURED_NAMES = ("HAKIMI", "Youssef")
NIRS = ("1 85 05 78 006 084 36", "2.85.03.60.123.456.78", "185057800608436")
INCOMING_ID = "proxy-4f1c2a9e-0001"
FORGED_ID = 'x" level="CRITICAL'  # not well-formed: replaced
COMMENT = "Mme Dupuis souhaite être accompagnée pour sa complémentaire santé solidaire."
COMPLEMENT = "Merci de joindre l'attestation de demande d'asile de Mme Dupuis."
ANSWER = "Voici l'attestation de Jeanne Dupuis."
PARTNER_MESSAGE = "Mme Dupuis est joignable le matin au centre."
AGENT_MESSAGE = "Nous appelons Mme Dupuis demain matin."
CLOSING = "Le dossier de Mme Dupuis est complet : droits ouverts."


def settings_logging(**environment: str) -> dict:
    """The LOGGING that settings.py builds in a process with this environment."""
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "import json; from django.conf import settings; print(json.dumps(settings.LOGGING))",
        ],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "SECRET_KEY": "tests-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "testserver",
            "CACHE_URL": "locmemcache://",
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def web_log(settings, tmp_path):
    """web_log(): from then on, every log line of this process, configured as settings.py does
    with LOG_FORMAT=json at DEBUG, every logger at DEBUG, into a file whose path is returned;
    the test's own logging restored afterwards. (Started once the test's data exists:
    factory_boy's own DEBUG lines are the test's, not the portal's.) The file stands for the
    console: Celery's Django fixup sets Django up again (settings.LOGGING) at the first publish."""
    config = settings_logging(LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    path = tmp_path / "web.log"
    [handler] = config["handlers"].values()
    assert handler["class"] == "logging.StreamHandler"
    handler.pop("stream")
    handler.update({"class": "logging.FileHandler", "filename": str(path)})
    for logger in config["loggers"].values():
        logger["level"] = "DEBUG"
    saved = {
        name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
        for name, logger in [("", logging.getLogger())]
        + [(name, logging.getLogger(name)) for name in list(logging.root.manager.loggerDict)]
        if isinstance(logger, logging.Logger)
    }

    def start() -> Path:
        settings.LOGGING = config
        logging.config.dictConfig(config)
        for name in list(logging.root.manager.loggerDict):
            logger = logging.getLogger(name)
            if logger.level != logging.NOTSET:
                logger.setLevel(logging.DEBUG)
        return path

    try:
        yield start
    finally:
        for handler in logging.getLogger().handlers:
            handler.close()
        for name, (level, handlers, propagate, disabled) in saved.items():
            logger = logging.getLogger(name or None)
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate, logger.disabled = propagate, disabled


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def parsed(lines: list[str], where: str) -> list[dict]:
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"{where}: a line that is not JSON: {line[:300]!r}")
        assert isinstance(record, dict), line
        assert set(record) >= KEYS, f"{where}: keys missing in {line[:300]}"
        records.append(record)
    return records


UUIDS = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


def holds_a_nir(line: str) -> bool:
    """core.nir's detector on the line, ids (task UUIDs, request ids) aside; and the test NIRs'
    digits, whatever the separators the line would put between them."""
    digits = re.sub(r"\D", "", UUIDS.sub(" ", line))
    return contains_nir(UUIDS.sub(" ", line)) or any(
        re.sub(r"\D", "", nir) in digits for nir in NIRS
    )


class Journey:
    """The steps, each remembering its response's request id and the e-mails it scheduled."""

    def __init__(self):
        self.steps: list[tuple[str, str, set[int]]] = []

    def __call__(self, name: str, call, *, expect: int | None = None):
        before = set(SentEmail.objects.values_list("pk", flat=True))
        response = call()
        if expect is not None:
            assert response.status_code == expect, (name, response.status_code)
        emails = set(SentEmail.objects.values_list("pk", flat=True)) - before
        self.steps.append((name, response.headers.get("X-Request-ID"), emails))
        return response


def test_the_logs_of_a_whole_journey_are_json_with_request_ids_and_no_personal_data(
    web_log, start_worker, mail_dir, tmp_path
):
    create_offres()  # the flush of an earlier transactional test removed them
    convention = with_all_offres()
    technicien = TechnicienFactory(
        structure=convention.structure, identifiant="t.lambert", email="t.lambert@ccas.example"
    )
    agent = AgentFactory(
        organisme=convention.organisme, identifiant="agent.test", email="agent.test@cpam.example"
    )
    addresses = [technicien.email, agent.email, convention.organisme.email_referent]
    # As root (this test's machine; the image runs as `portail`), the worker prints Celery's
    # superuser warning on stderr before logging is set up: not a log line of the portal's.
    as_root = {"PYTHONWARNINGS": "ignore:You're running the worker with superuser privileges"}
    worker = start_worker(
        LOG_FORMAT="json",
        LOG_LEVEL="DEBUG",
        loglevel="DEBUG",
        **(as_root if os.geteuid() == 0 else {}),
    )
    worker.wait_until_ready()
    log = web_log()

    journey = Journey()
    partner = Client()
    assert log_in(partner, technicien.identifiant, TEST_PASSWORD)
    journey(
        "selection",
        lambda: partner.get(reverse("accounts:organisme_selection"), HTTP_X_REQUEST_ID=INCOMING_ID),
        expect=302,
    )
    search = journey(
        "search",
        lambda: partner.get(reverse("demandes:list"), {"q": NIRS[0]}, HTTP_X_REQUEST_ID=FORGED_ID),
        expect=200,
    )
    assert search.headers.get("X-Request-ID") != FORGED_ID
    demande_data = {
        **INSURED,
        "civilite": "MME",
        "motif": "c2s",
        "departement": "60",
        "consentement": "on",
        "urgent": "on",
        "categorie_urgence": "c2s-puma-asile",
    }
    create = reverse("demandes:create", args=["etude-dossier"])
    refused = journey(
        "nir refused",
        lambda: partner.post(create, {**demande_data, "commentaire": f"NIR {NIRS[1]}"}),
        expect=200,
    )
    assert "numéro de sécurité sociale" in refused.content.decode()
    journey(
        "create",
        lambda: partner.post(create, {**demande_data, "commentaire": COMMENT}),
        expect=302,
    )
    demande = Demande.objects.get()

    fund = Client(raise_request_exception=True)
    log_in_verified(fund, agent)

    def admin(name: str) -> str:
        return reverse(f"admin:demandes_demande_{name}", args=[demande.pk])

    def attestation() -> SimpleUploadedFile:
        return SimpleUploadedFile("attestation.pdf", PDF, "application/pdf")

    # (step, client, address, data of a POST or None for a GET, status expected)
    steps = [
        ("agent reads", fund, admin("change"), None, 200),
        ("take", fund, admin("prendre_en_charge"), {}, 302),
        ("complement refused", fund, admin("complement"), {"apply": "1", "message": NIRS[2]}, 200),
        ("complement", fund, admin("complement"), {"apply": "1", "message": COMPLEMENT}, 302),
        (
            "answer",
            partner,
            reverse("demandes:complement", args=[demande.pk]),
            {"message": ANSWER, "pieces": [attestation()]},
            302,
        ),
        (
            "partner message",
            partner,
            reverse("demandes:message", args=[demande.pk]),
            {"texte": PARTNER_MESSAGE},
            302,
        ),
        ("agent message", fund, admin("message"), {"apply": "1", "texte": AGENT_MESSAGE}, 302),
        ("close", fund, admin("cloturer"), {"apply": "1", "reponse": CLOSING}, 302),
    ]
    for name, client, url, data, status in steps:
        if data is None:
            journey(name, lambda client=client, url=url: client.get(url), expect=status)
        else:
            journey(
                name,
                lambda client=client, url=url, data=data: client.post(url, data),
                expect=status,
            )
    demande.refresh_from_db()
    assert demande.statut == Statut.CLOTUREE

    scheduled = {pk for _, _, emails in journey.steps for pk in emails}
    assert len(scheduled) >= 4, journey.steps
    assert wait_for(
        lambda: SentEmail.objects.filter(pk__in=scheduled, status="sent").count() == len(scheduled),
        timeout=60,
    ), worker.log_tail()
    worker.stop()

    web = parsed(lines_of(log.read_text()), "web")
    tasks = parsed(lines_of(worker.log.read_text()), "worker")

    # Request lines: one per request, its id the one the response gave; an incoming well-formed
    # id is kept.
    request_lines = [line for line in web if line["logger"] == "espace_partenaires.requests"]
    for name, request_id, _ in journey.steps:
        [line] = [line for line in request_lines if line["request_id"] == request_id]
        assert set(line) >= REQUEST_KEYS, (name, line)
        assert "?" not in line["path"], line
    assert journey.steps[0][1] == INCOMING_ID
    assert all(line["user_id"] for line in request_lines if line["path"].startswith("/demandes/"))
    assert all(line["request_id"] for line in web if line["logger"].startswith("django"))

    # The tasks a request scheduled: their lines carry its id.
    for name, request_id, emails in journey.steps:
        for pk in emails:
            assert SentEmail.objects.get(pk=pk).request_id == request_id
            sent_lines = [
                line
                for line in tasks
                if re.search(rf"e-mail sent \(template \S+, id {pk}, attempt 1\)", line["message"])
            ]
            assert [line["request_id"] for line in sent_lines] == [request_id], (name, pk)
    task_ids = {line["request_id"] for line in tasks if line["logger"] == "celery.app.trace"}
    assert task_ids and task_ids <= {request_id for _, request_id, _ in journey.steps}

    # No personal data, in any line.
    emails = sent_emails(mail_dir)
    assert len(emails) == len(scheduled)
    body_lines = {
        line.strip()
        for message in emails
        for line in text_of(message).splitlines()
        if len(line.strip()) > 25 and "://" not in line
    }
    words = [
        INSURED["nom"],
        INSURED["prenom"],
        "Dupuis",
        *OTHER_INSURED_NAMES,
        "12/04/1950",
        INSURED["date_naissance"],
        COMMENT,
        COMPLEMENT,
        ANSWER,
        PARTNER_MESSAGE,
        AGENT_MESSAGE,
        CLOSING,
        *addresses,
    ]
    everything = lines_of(log.read_text()) + lines_of(worker.log.read_text())
    assert len(everything) > 50
    for line in everything:
        lowered = line.lower()
        assert not [word for word in words if word.lower() in lowered], line
        assert not [body for body in body_lines if body.lower() in lowered], line
        assert not holds_a_nir(line), line
    assert not [line for line in web + tasks if line.get("redacted")]


def test_the_date_of_birth_spelled_as_on_the_pages_is_not_a_nir_by_chance():
    """The scan's detector on a line of dates and ids flags nothing (a test that cannot pass by
    luck must not fail by luck either)."""
    line = json.dumps(
        {
            "time": datetime.datetime(2026, 12, 1, 12, 30, 45).isoformat(),
            "message": "Task notifications.tasks.send_email[1a2b3c4d-1234-4567-8901-234567890123]",
            "request_id": "0123456789abcdef0123456789abcdef",
        }
    )
    assert not holds_a_nir(line)
    assert holds_a_nir(f"{line} 1 85 05 78 006 084 36")
