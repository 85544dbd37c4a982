import datetime
import html
import io
import re
import socket
import threading
import time
from collections.abc import Callable

import pikepdf
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from accounts.models import User
from accounts.second_factor import requires_second_factor
from conventions.models import Offre
from demandes import services as demande_services
from demandes.attachments import AttachmentsField
from demandes.models import Demande
from tests.factories import ConventionFactory

# Documents made by the libraries the portal checks them with (pikepdf, i.e. qpdf, and Pillow), so
# that they are what a reader opens: a test changes one thing in a real document.
ATTESTATION_TEXT = b"BT /F1 18 Tf 72 770 Td (Attestation de droits) Tj ET"


def pdf_document(
    edit: Callable[[pikepdf.Pdf], None] | None = None,
    *,
    content: bytes = ATTESTATION_TEXT,
    encryption: pikepdf.Encryption | None = None,
) -> bytes:
    """A one-page PDF 1.4 (one line of Helvetica, its content stream left uncompressed);
    `edit` changes the document before it is saved (an action, an embedded file…)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0].obj
    page.Contents = pdf.make_stream(content)
    page.Resources = pikepdf.Dictionary(
        Font=pikepdf.Dictionary(
            F1=pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.Type1,
                BaseFont=pikepdf.Name.Helvetica,
            )
        )
    )
    if edit is not None:
        edit(pdf)
    document = io.BytesIO()
    pdf.save(
        document,
        min_version="1.4",
        compress_streams=False,
        # qpdf derives the identifier from the content (same bytes at each run), except when
        # it encrypts, where the identifier is part of the key.
        deterministic_id=encryption is None,
        encryption=encryption or False,
    )
    return document.getvalue()


PDF = pdf_document()


def image_file(
    kind: str, *, size: tuple[int, int] = (40, 30), color="#c0392b", **save_options
) -> bytes:
    """A JPEG or PNG made by Pillow, a plain rectangle of `color` (its left half darker, so
    that a rotation shows); `save_options` go to Image.save (exif=, pnginfo=, comment=…)."""
    image = Image.new("RGB", size, color)
    image.paste("#000000", (0, 0, size[0] // 2, size[1]))
    document = io.BytesIO()
    image.save(document, kind, **save_options)
    return document.getvalue()


class PiecesForm(forms.Form):
    """A form of the one field every upload goes through, portal and admin alike."""

    pieces = AttachmentsField()


def submit(*files: tuple[str, bytes]) -> PiecesForm:
    """PiecesForm sent with these (name, content) files, validated."""
    uploads = [SimpleUploadedFile(name, content) for name, content in files]
    form = PiecesForm(data={}, files=MultiValueDict({"pieces": uploads}))
    form.is_valid()
    return form


def log_in(client, identifiant: str, password: str) -> bool:
    """Log in through the real log-in page (django-axes counts it); True if it succeeded.

    Django's `client.login()` authenticates without a request, which django-axes rightly refuses.
    """
    client.logout()
    client.post(reverse("accounts:login"), {"username": identifiant, "password": password})
    return "_auth_user_id" in client.session


def totp_code(device: TOTPDevice) -> str:
    """The code the authenticator app of `device` shows now; the next one when the current one
    was used already (django-otp accepts each code once, and the next step's too)."""
    step = int((time.time() - device.t0) // device.step)
    drift = max(0, (device.last_t or -1) + 1 - step)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{code:0{device.digits}d}"


def give_second_factor(client, identifiant: str) -> TOTPDevice:
    """After the password, the code of the account's authenticator app typed on the second
    factor's page, as an agent or a superuser does (an app enrolled earlier, if none yet)."""
    user = User.objects.get(identifiant=identifiant)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Application (tests)", confirmed=True)
    response = client.post(reverse("accounts:second_factor"), {"code": totp_code(device)})
    assert response.status_code == 302, response
    return device


def log_in_verified(client, user) -> TOTPDevice | None:
    """Log `user` in as after every factor they must give: the password (skipped, as
    `force_login` does) and, for an agent or a superuser, a confirmed authenticator app the
    session is verified with, as `django_otp.login` records it. With a bare `force_login`, the
    admin sends agents and superusers to their second factor (tests/accounts/test_second_factor)."""
    client.force_login(user)
    if not requires_second_factor(user):
        return None
    device = TOTPDevice.objects.create(user=user, name="Application (tests)", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def wait_for(condition, timeout: float = 30.0) -> bool:
    """Poll `condition` until true, at most `timeout` seconds: for work done by a real worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def run_at_once(*calls: Callable[[], object]) -> list:
    """Run each call in its own thread, and so its own database connection, all released
    together; what each returned, or the exception it raised, in the calls' order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[index] = call()
        except Exception as error:  # the outcome under test may be an exception
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is still running"
    return outcomes


def all_succeed(*calls: Callable[[], object]) -> list:
    """run_at_once, where none of the calls may fail."""
    outcomes = run_at_once(*calls)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    return outcomes


def make_demande(technicien, convention, *, offre="rendez-vous", uploads=(), **data) -> Demande:
    """A demande made through the service, with a person's usual fields; `data` overrides them."""
    motif = {"rendez-vous": "c2s", "document": "attestation-droits"}[offre]
    fields = {
        "motif": motif,
        "civilite": "MME",
        "nom": "MARTIN",
        "prenom": "Jeanne",
        "date_naissance": datetime.date(1975, 3, 2),
        "departement": "60",
        "commentaire": "",
        "consentement": True,
        "urgent": False,
        "categorie_urgence": "",
    }
    fields.update(data)
    return demande_services.create_demande(
        by=technicien,
        convention=convention,
        offre=Offre.objects.get(code=offre),
        data=fields,
        uploads=uploads,
    )


def with_all_offres(**fields):
    """A convention (ConventionFactory's fields) on which every offer of service is active."""
    convention = ConventionFactory(**fields)
    convention.offres.set(Offre.objects.all())
    return convention


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# A complete context of the e-mail "conventions/fin_proche_referent", for the outbox's tests.
# The refusal of an address already held by an active account of the role (SPEC §3): precise
# when the holder is in the same structure (the user sees it anyway), silent about where otherwise.
EMAIL_TAKEN_HERE = "Un autre compte actif de cette structure utilise déjà cette adresse e-mail."
EMAIL_UNAVAILABLE = (
    "Cette adresse e-mail ne peut pas être retenue : chaque compte actif doit avoir sa propre "
    "adresse. Indiquez l'adresse e-mail personnelle de la personne."
)

REFERENT_WARNING = {
    "organisme": "CPAM DE L'OISE",
    "structure": "CCAS DE CREIL",
    "siret": "12345678900012",
    "login_url": "http://127.0.0.1:8000/connexion/",
    "reference": "CONV-60-0042",
    "date_fin": "30 juin 2026",
}


# The NIR guard's French message (core.nir), as the pages show it.
NIR_REFUSED = "Ce texte semble contenir un numéro de sécurité sociale (NIR)"


def assert_nir_refused_next_to(
    response, name: str, *, prefix: str = "", context_name: str = "form"
) -> None:
    """The page is shown again with the NIR guard's message in the error list of the field
    `name`, and what was typed kept in the field."""
    assert response.status_code == 200
    admin_form = response.context.get("adminform")
    form = admin_form.form if admin_form else response.context[context_name]
    assert any(NIR_REFUSED in str(error) for error in form.errors.get(name, [])), form.errors
    field_id = f"id_{prefix}{name}"
    errors = re.search(
        rf'<ul class="errorlist"[^>]* id="{field_id}_error">(.*?)</ul>', response.text, re.S
    )
    assert errors, f"no error list next to {name}"
    assert NIR_REFUSED in html.unescape(errors.group(1))
    assert form[name].value(), "what was typed is kept"
