import datetime
import socket
import threading
import time
from collections.abc import Callable

from django.db import connection
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.second_factor import requires_second_factor
from conventions.models import Offre
from demandes import services as demande_services
from demandes.models import Demande
from tests.factories import ConventionFactory

# A PDF that readers open: header, catalogue, one empty page, cross-reference table, trailer.
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 200 200]>> endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n"
    b"0000000056 00000 n \n0000000111 00000 n \n"
    b"trailer <</Size 4 /Root 1 0 R>>\nstartxref\n182\n%%EOF\n"
)


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
REFERENT_WARNING = {
    "organisme": "CPAM DE L'OISE",
    "structure": "CCAS DE CREIL",
    "siret": "12345678900012",
    "login_url": "http://127.0.0.1:8000/connexion/",
    "reference": "CONV-60-0042",
    "date_fin": "30 juin 2026",
}
