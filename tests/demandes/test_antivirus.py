"""Attachments are scanned by ClamAV's clamd before anything is stored, and refused when clamd
finds something or cannot answer (fail closed). In production (DEBUG=false) a portal without
clamd refuses every file, unless UPLOADS_WITHOUT_ANTIVIRUS=true says otherwise, which
`check --deploy` then warns about (issue 16, item 6). The tests' own environment sets it
(pyproject.toml), for the tests that are not about the antivirus; those below set it themselves.

The tests marked `clamd` use a real clamd: CI's (CLAMD_SOCKET), or a private one started on the
EICAR-only database of tests/clamd/ (see tests/conftest.py). The others run everywhere.
"""

import hashlib
import socket

import pytest
from django import forms
from django.core import checks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict

from demandes.attachments import scan
from demandes.models import PieceJointe
from tests.helpers import PiecesForm, image_file, pdf_document, submit
from tests.test_production_defaults import PRODUCTION, manage

# The EICAR test file: 68 bytes that every antivirus detects, harmless by design. Built here in
# two halves so that no file of the repository is itself flagged by a scanner.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR" + b"-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

INFECTED = "Le fichier « document.pdf » est refusé : l'antivirus y a détecté un risque."
UNAVAILABLE = (
    "L'analyse antivirus de « document.pdf » est momentanément impossible : réessayez plus tard."
)
NO_ANTIVIRUS = (
    "Le fichier « document.pdf » ne peut pas être reçu : aucun antivirus n'est en service pour "
    "l'analyser. Signalez-le à l'administrateur du portail."
)
UNREADABLE_PDF = (
    "Le fichier « document.pdf » ne peut pas être lu comme un PDF : il est peut-être endommagé "
    "ou incomplet. Enregistrez-le de nouveau au format PDF, puis joignez-le."
)
NOT_A_DOCUMENT = (
    "Le fichier « document.pdf » n'est ni un PDF, ni une image JPEG ou PNG "
    "(son contenu a été vérifié, pas seulement son nom)."
)


def clean_pdf() -> bytes:
    """A real one-page PDF (header, objects, cross-reference table, trailer)."""
    text = b"BT /F1 18 Tf 72 770 Td (Attestation de droits) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    document = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(document))
        document += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(document)
    document += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    document += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    document += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return document


def pdf_with_eicar() -> bytes:
    """A real PDF whose page's (uncompressed) content is the EICAR file: it passes every check
    of the content, so that only the antivirus can refuse it."""
    return pdf_document(content=EICAR)


def eicar_behind_a_pdf_header() -> bytes:
    """What passed for a PDF when only the first bytes were read."""
    return b"%PDF-1.4\n" + EICAR + b"\n%%EOF\n"


@pytest.fixture
def storage(attachments_dir):
    """The attachments' storage folder of the test, to see that nothing lands there."""
    return attachments_dir


@pytest.fixture
def no_clamd(settings):
    settings.CLAMD_SOCKET = ""
    settings.CLAMD_HOST = ""


@pytest.fixture
def production_without_clamd(no_clamd, settings):
    settings.UPLOADS_WITHOUT_ANTIVIRUS = False


@pytest.fixture
def unreachable_socket(settings, tmp_path):
    settings.CLAMD_SOCKET = str(tmp_path / "clamd-absent.sock")
    settings.CLAMD_HOST = ""


def test_the_eicar_string_is_the_standard_file():
    assert len(EICAR) == 68
    # The MD5 published for the 68-byte EICAR file (eicar.org).
    assert hashlib.md5(EICAR, usedforsecurity=False).hexdigest() == (
        "44d88612fea8a8f36de82e1278abb02f"
    )


# --- With a real clamd ----------------------------------------------------------------------


@pytest.mark.clamd
def test_scan_refuses_the_eicar_file(clamd):
    upload = SimpleUploadedFile("document.pdf", EICAR)

    with pytest.raises(forms.ValidationError) as refused:
        scan(upload)

    assert refused.value.code == "infected"
    assert refused.value.messages == [INFECTED]


@pytest.mark.clamd
@pytest.mark.django_db
def test_a_pdf_carrying_eicar_is_refused_by_the_antivirus_and_nothing_is_stored(clamd, storage):
    form = submit(("document.pdf", pdf_with_eicar()))

    assert form.errors == {"pieces": [INFECTED]}
    assert not storage.exists() or not any(storage.rglob("*"))
    assert not PieceJointe.objects.exists()


@pytest.mark.clamd
def test_one_infected_file_refuses_the_whole_sending(clamd):
    form = submit(("releve.pdf", clean_pdf()), ("document.pdf", pdf_with_eicar()))

    assert form.errors == {"pieces": [INFECTED]}


@pytest.mark.clamd
def test_a_clean_pdf_passes_the_scan_and_is_read_again_from_its_start(clamd):
    content = clean_pdf()
    upload = SimpleUploadedFile("Relevé d'identité.PDF", content)

    scan(upload)  # no ValidationError

    assert upload.read() == content  # rewound: what is stored is the whole file
    form = submit(("Relevé d'identité.PDF", content))
    assert form.is_valid(), form.errors
    [accepted] = form.cleaned_data["pieces"]
    assert (accepted.mime, accepted.safe_name) == ("application/pdf", "Releve_d_identite.pdf")


@pytest.mark.clamd
def test_clamd_scans_the_bytes_that_are_stored(clamd):
    # EICAR after the image's end: gone from Pillow's new encoding, which is what is scanned.
    form = submit(("photo.png", image_file("PNG") + EICAR))

    assert form.is_valid(), form.errors
    [accepted] = form.cleaned_data["pieces"]
    assert EICAR not in accepted.read()


# --- Without a working clamd: runs everywhere -------------------------------------------------


def test_eicar_named_as_a_pdf_is_refused_by_its_content_before_any_scan(unreachable_socket):
    # The type check comes first: the unreachable clamd is never asked.
    form = submit(("document.pdf", EICAR))

    assert form.errors == {"pieces": [NOT_A_DOCUMENT]}


@pytest.mark.django_db
def test_an_unreachable_clamd_socket_refuses_the_file_until_later(unreachable_socket, storage):
    upload = SimpleUploadedFile("document.pdf", clean_pdf())
    with pytest.raises(forms.ValidationError) as refused:
        scan(upload)
    assert refused.value.code == "antivirus_unavailable"

    form = submit(("document.pdf", clean_pdf()))

    assert form.errors == {"pieces": [UNAVAILABLE]}
    assert not storage.exists() or not any(storage.rglob("*"))
    assert not PieceJointe.objects.exists()


def test_an_unreachable_clamd_host_refuses_the_file_until_later(settings):
    # A port of this machine on which nothing listens: connection refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CLAMD_SOCKET = ""
    settings.CLAMD_HOST = "127.0.0.1"
    settings.CLAMD_PORT = port

    form = submit(("document.pdf", clean_pdf()))

    assert form.errors == {"pieces": [UNAVAILABLE]}


def test_without_clamd_but_allowed_files_are_checked_and_not_scanned(no_clamd, settings):
    settings.UPLOADS_WITHOUT_ANTIVIRUS = True
    form = submit(("document.pdf", clean_pdf()))

    assert form.is_valid(), form.errors
    [accepted] = form.cleaned_data["pieces"]
    assert accepted.mime == "application/pdf"


def test_without_clamd_eicar_behind_a_pdf_header_is_refused_by_parsing(no_clamd, settings):
    settings.UPLOADS_WITHOUT_ANTIVIRUS = True

    form = submit(("document.pdf", eicar_behind_a_pdf_header()))

    assert form.errors == {"pieces": [UNREADABLE_PDF]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content", [pytest.param(clean_pdf(), id="PDF"), pytest.param(image_file("PNG"), id="PNG")]
)
def test_in_production_without_clamd_files_are_refused(production_without_clamd, storage, content):
    form = submit(("document.pdf", content))

    assert form.errors == {"pieces": [NO_ANTIVIRUS]}
    assert not storage.exists() or not any(storage.rglob("*"))
    assert not PieceJointe.objects.exists()


def test_in_production_without_clamd_a_form_without_files_is_still_valid(production_without_clamd):
    form = PiecesForm(data={}, files=MultiValueDict({}))

    assert form.is_valid(), form.errors


@pytest.mark.clamd
def test_in_production_with_clamd_files_are_scanned_and_accepted(clamd, settings):
    settings.UPLOADS_WITHOUT_ANTIVIRUS = False

    assert submit(("document.pdf", clean_pdf())).is_valid()
    assert submit(("document.pdf", pdf_with_eicar())).errors == {"pieces": [INFECTED]}


# --- The setting, and check --deploy ----------------------------------------------------------


def deploy_warnings() -> list:
    """The deploy checks' messages about files without antivirus."""
    return [
        message
        for message in checks.run_checks(
            tags=[checks.Tags.security], include_deployment_checks=True
        )
        if message.id == "demandes.W001"
    ]


def test_check_deploy_warns_when_files_are_allowed_without_an_antivirus(no_clamd, settings):
    settings.UPLOADS_WITHOUT_ANTIVIRUS = True

    [warning] = deploy_warnings()

    assert warning.level == checks.WARNING
    assert "UPLOADS_WITHOUT_ANTIVIRUS" in warning.msg
    assert "demandes.W001" not in [m.id for m in checks.run_checks(tags=[checks.Tags.security])]


@pytest.mark.parametrize(
    ("clamd_host", "allowed"), [("clamav", True), ("clamav", False), ("", False)]
)
def test_check_deploy_is_silent_with_an_antivirus_or_when_files_are_refused(
    no_clamd, settings, clamd_host, allowed
):
    settings.CLAMD_HOST = clamd_host
    settings.UPLOADS_WITHOUT_ANTIVIRUS = allowed

    assert deploy_warnings() == []


def test_the_setting_allows_files_without_antivirus_by_default_only_in_development():
    show = "from django.conf import settings as s; print(s.UPLOADS_WITHOUT_ANTIVIRUS)"

    development = manage("shell", "--no-imports", "-c", show, DEBUG="true")
    production = manage("shell", "--no-imports", "-c", show, **PRODUCTION)

    assert (development.stdout.split(), production.stdout.split()) == (["True"], ["False"]), (
        development.stderr + production.stderr
    )


def test_check_deploy_with_files_allowed_without_antivirus_prints_the_warning():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        UPLOADS_WITHOUT_ANTIVIRUS="true",
    )

    assert result.returncode != 0
    assert "demandes.W001" in result.stderr + result.stdout
