"""SPEC §9, issue 20 item 6: several web nodes behind one load balancer.

Two gunicorn instances, each in its own working directory with its own MEDIA_ROOT, STATIC_ROOT
and e-mail folder (no local disk shared), configured only as an operator configures a node:
the same PostgreSQL (the test database), the same Redis (REDIS_URL: Celery's broker, and the
cache the settings derive from it), the same S3-compatible object storage (moto's standalone
server, started here) for the attachments, the same SECRET_KEY. One person's journey goes from
one node to the other with the same cookies, as a load balancer without affinity would send it:
what one node knows, the other must know too.

Real parts: gunicorn with deploy/gunicorn.conf.py, PostgreSQL, redis-server, moto_server, the
portal's own pages and forms over HTTP, ALTCHA's proof of work solved as the widget does.
"""

import http.client
import json
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import altcha
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from demandes import services as demande_services
from demandes.models import PieceJointe
from inscriptions.models import PreInscription
from tests.browser.scenario import create_offres
from tests.conftest import moto_server_binary, start_redis_server
from tests.factories import (
    TEST_PASSWORD,
    AgentFactory,
    ConventionFactory,
    StructureFactory,
    TechnicienFactory,
    valid_siret,
)
from tests.helpers import PDF, free_port, make_demande, with_all_offres
from tests.reliability.conftest import database_url
from tests.test_production_defaults import PRODUCTION, manage

pytestmark = pytest.mark.nodes

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
BUCKET = "espace-partenaires-pieces"
ANTI_ROBOT_REFUSED = "La vérification anti-robot a échoué"
# Low limits, so that a few requests split between the nodes reach them.
PREINSCRIPTION_RATE = "3/h"
LOGIN_CLIENT_RATE = "2/h"


def wait_until(condition, what: str, process: subprocess.Popen, log: Path, timeout=60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


def http_request(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def answers(port: int, path: str) -> bool:
    try:
        return http_request(port, "GET", path)[0].status == 200
    except OSError:
        return False


# --- The shared services ---------------------------------------------------------------------


@dataclass
class ObjectStorage:
    """moto's S3 server on a free port."""

    port: int

    @property
    def url(self) -> str:
        # A host name, not an address: boto3 would put the bucket in it (virtual addressing),
        # which no DNS resolves; the settings ask for path addressing with an endpoint.
        return f"http://localhost:{self.port}"

    @property
    def settings(self) -> dict[str, str]:
        """The variables of a node using it."""
        return {
            "ATTACHMENTS_STORAGE": "s3",
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": self.url,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY": "test-only",
            "S3_SECRET_KEY": "test-only",
        }

    def keys(self) -> list[str]:
        _response, listing = http_request(self.port, "GET", f"/{BUCKET}?list-type=2")
        return re.findall(r"<Key>([^<]+)</Key>", listing.decode())

    def create_bucket(self) -> subprocess.CompletedProcess:
        return manage("create_attachments_bucket", "--wait", "30", **PRODUCTION, **self.settings)


@pytest.fixture
def s3_server(tmp_path):
    """moto's S3 server, without any bucket."""
    port = free_port()
    log = tmp_path / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (a fixed command)
            [moto_server_binary(), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: answers(port, "/moto-api/"), "moto_server", process, log)
        yield ObjectStorage(port)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def object_storage(s3_server):
    """moto's S3 server with the attachments' bucket, made as compose's storage-init makes it."""
    result = s3_server.create_bucket()
    assert result.returncode == 0, result.stderr
    return s3_server


def test_the_attachments_bucket_is_created_once_then_left_as_it_is(s3_server):
    first = s3_server.create_bucket()
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"Bucket {BUCKET} : créé."
    http_request(s3_server.port, "PUT", f"/{BUCKET}/demandes/gardee.pdf", body=b"%PDF-")

    again = s3_server.create_bucket()

    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"Bucket {BUCKET} : existe déjà."
    assert s3_server.keys() == ["demandes/gardee.pdf"]


def test_with_the_local_storage_there_is_no_bucket_to_create():
    result = manage("create_attachments_bucket", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "aucun bucket à créer" in result.stdout


@pytest.fixture
def shared_redis():
    """A private redis-server: a key left by another run cannot reach the limits counted here."""
    process, port = start_redis_server()
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- The nodes -------------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    port: int
    folder: Path

    def stored_files(self) -> list[Path]:
        return [path for path in self.folder.rglob("*") if path.is_file() and "media" in path.parts]


@pytest.fixture
def start_node(tmp_path, object_storage, shared_redis):
    """start_node(name) → a gunicorn node in its own folder, on the shared services only."""
    secret_key = secrets.token_urlsafe(50)
    processes = []

    def start(name: str) -> Node:
        folder = tmp_path / name
        folder.mkdir()
        port = free_port()
        environment = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(folder),
            "PYTHONPATH": str(ROOT),
            "DEBUG": "false",
            "HTTPS": "false",  # plain HTTP between the test and the nodes, as behind a proxy
            "SECRET_KEY": secret_key,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url(),
            # Only REDIS_URL: the broker, and the cache the settings derive from it.
            "REDIS_URL": shared_redis,
            **object_storage.settings,
            # What would be on each machine's own disk.
            "MEDIA_ROOT": str(folder / "media"),
            "STATIC_ROOT": str(folder / "static"),
            "EMAIL_FILE_DIR": str(folder / "emails"),
            # No clamd here: the antivirus has its own tests (tests/demandes/test_antivirus.py).
            "UPLOADS_WITHOUT_ANTIVIRUS": "true",
            "PREINSCRIPTION_RATE": PREINSCRIPTION_RATE,
            "LOGIN_CLIENT_RATE": LOGIN_CLIENT_RATE,
            "LOG_LEVEL": "WARNING",
        }
        log = folder / "gunicorn.log"
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 (a fixed command)
                [
                    str(GUNICORN),
                    "--config",
                    str(ROOT / "deploy" / "gunicorn.conf.py"),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "espace_partenaires.wsgi:application",
                ],
                cwd=folder,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        # /healthz: the database, the cache, the broker and the object storage all answer.
        wait_until(lambda: answers(port, "/healthz?format=text"), f"node {name}", process, log)
        return Node(name, port, folder)

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


@dataclass
class Visitor:
    """One browser: the same cookies, whichever node the load balancer sends a request to."""

    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, node: Node, method: str, path: str, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response, content = http_request(node.port, method, path, body, headers)
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update({name: m.value for name, m in SimpleCookie(header).items()})
        return response, content

    def get(self, node: Node, path: str):
        return self.request(node, "GET", path)

    def post(self, node: Node, path: str, data: dict, *, form: tuple[Node, str] | None = None):
        """Post `data` to `path` with the CSRF token of the form's page: `path` itself on the
        same node unless `form` says which node served which page."""
        form_node, form_path = form or (node, path)
        _response, page = self.get(form_node, form_path)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = encode_multipart(BOUNDARY, {**data, "csrfmiddlewaretoken": token.decode()})
        return self.request(node, "POST", path, body, {"Content-Type": MULTIPART_CONTENT})

    def solve_anti_robot(self, node: Node) -> str:
        """What the ALTCHA widget does: fetch a challenge, solve it, give the payload."""
        response, content = self.get(node, "/altcha/challenge/")
        assert response.status == 200
        challenge = altcha.Challenge.from_dict(json.loads(content))
        solution = altcha.solve_challenge(challenge, timeout=60)
        assert solution is not None
        return altcha.Payload(challenge, solution).to_base64()


# --- The journey -----------------------------------------------------------------------------


@pytest.fixture
def demande():
    """A demande of the technicien j.lefort, whose complement the fund asks; a password the
    nodes' own hasher reads (the test process hashes with MD5 for speed)."""
    create_offres()  # the flush of an earlier transactional test removed them
    convention = with_all_offres()
    account = TechnicienFactory(identifiant="j.lefort", structure=convention.structure)
    account.password = PBKDF2PasswordHasher().encode(TEST_PASSWORD, PBKDF2PasswordHasher().salt())
    account.save(update_fields=["password"])
    agent = AgentFactory(organisme=convention.organisme)
    demande = make_demande(account, convention)
    demande_services.prendre_en_charge(by=agent, demande=demande)
    demande_services.demander_complement(
        by=agent, demande=demande, message="Merci de joindre l'attestation."
    )
    return demande


@pytest.fixture
def preinscription_data():
    convention = ConventionFactory(
        reference="CONV-60-0077", structure=StructureFactory(siret=valid_siret(777777))
    )
    return {
        "organisme": str(convention.organisme.pk),
        "reference_convention": "CONV-60-0077",
        "structure_nom": "CCAS de Creil",
        "siret": convention.structure.siret,
        "adresse": "1 place de la Mairie",
        "code_postal": "60100",
        "ville": "Creil",
        "structure_telephone": "03 44 00 00 00",
        "civilite": "MME",
        "nom_patronymique": "pichon",
        "nom_usuel": "",
        "prenom": "maryse",
        "fonction": "Directrice",
        "telephone": "0700000000",
        "email": "maryse.pichon@ccas-creil.example",
        "cgu": "on",
    }


@pytest.mark.django_db(transaction=True)  # the nodes see only what is committed
def test_one_journey_across_two_nodes(start_node, object_storage, demande, preinscription_data):
    node_a, node_b = start_node("a"), start_node("b")
    person = Visitor()

    # Logged in on A, the organisme chosen on B, the demande read on A then on B: what one node
    # writes in the session (the shared database), the other reads.
    response, _content = person.post(
        node_a, "/connexion/", {"username": "j.lefort", "password": TEST_PASSWORD}
    )
    assert response.status == 302, _content[-2000:]
    response, _content = person.get(node_b, "/organisme/")  # its only organisme, chosen
    assert (response.status, response.getheader("Location")) == (302, "/")
    for node in (node_a, node_b):
        response, content = person.get(node, f"/demandes/{demande.pk}/")
        assert response.status == 200
        assert demande.reference.encode() in content

    # A file sent on A, read on B: it is in the object storage, on neither node's disk.
    response, _content = person.post(
        node_a,
        f"/demandes/{demande.pk}/complement/",
        {
            "message": "Voici l'attestation.",
            "pieces": SimpleUploadedFile("attestation.pdf", PDF, "application/pdf"),
        },
        form=(node_b, f"/demandes/{demande.pk}/"),
    )
    assert response.status == 302, _content[-2000:]
    piece = PieceJointe.objects.get(demande=demande)
    assert object_storage.keys() == [piece.fichier.name]
    assert node_a.stored_files() == node_b.stored_files() == []
    response, content = person.get(node_b, f"/demandes/pieces/{piece.pk}/")
    assert response.status == 200
    assert content == PDF
    # Still through the portal's scoped view: another person gets nothing, on either node.
    stranger = Visitor()
    for node in (node_a, node_b):
        response, _content = stranger.get(node, f"/demandes/pieces/{piece.pk}/")
        assert response.status == 302
        assert response.getheader("Location").startswith("/connexion/")

    # An anti-robot solution used on A is refused on B: its single use is in the shared cache.
    visitor = Visitor()
    payload = visitor.solve_anti_robot(node_b)
    submitted = {**preinscription_data, "captcha": payload}
    response, _content = visitor.post(node_a, "/pre-inscription/", submitted)
    assert response.status == 302, _content[-2000:]
    response, content = visitor.post(node_b, "/pre-inscription/", submitted)
    assert response.status == 200
    assert ANTI_ROBOT_REFUSED in content.decode()
    assert PreInscription.objects.count() == 1

    # The limits count the requests of both nodes: the third pré-inscription of this address
    # was on A; B refuses the fourth (PREINSCRIPTION_RATE=3/h).
    response, _content = visitor.post(node_a, "/pre-inscription/", preinscription_data)
    assert response.status == 200
    response, content = visitor.post(node_b, "/pre-inscription/", preinscription_data)
    assert response.status == 429
    # Two failed log-ins of this address, one on each node, whatever the identifiers: the
    # third is refused (LOGIN_CLIENT_RATE=2/h), and no identifier is locked for it.
    guesser = Visitor()
    statuses = [
        guesser.post(node, "/connexion/", {"username": name, "password": "Pas-Le-Bon-1"})[0].status
        for node, name in ((node_a, "inconnu.a"), (node_b, "inconnu.b"), (node_a, "inconnu.c"))
    ]
    assert statuses == [200, 200, 429]
