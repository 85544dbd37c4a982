"""The second factor of agents de caisse and superusers in the admin (SPEC §10).

django-otp keeps the devices and marks a session verified (`request.user.is_verified()`):
an authenticator app (TOTP), single-use recovery codes (static), passkeys (django-otp-webauthn).
Who must give one, enrolling and verifying, what a failure costs (the lockout of django-axes, as
a wrong password does) and the reset by a superuser live here; the pages in views/second_factor.
"""

import base64
from urllib.parse import urlsplit

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential

from core import history

from .models import User

RECOVERY_CODES_SESSION_KEY = "_recovery_codes"
RECOVERY_DEVICE_NAME = "Codes de secours"
TOTP_DEVICE_NAME = "Application d'authentification"
RESET_MESSAGE = "Facteurs d'authentification réinitialisés"


def requires_second_factor(user: User) -> bool:
    """Agents de caisse and national administrators (superusers), everyone who works in the
    admin, see the situations of a whole organisme, or of all: a stolen password must not be
    enough. Partners are not asked for now; a per-organisme setting can switch them on later,
    here and only here (the middleware, the admin site and the pages ask this function)."""
    return user.is_authenticated and (user.is_staff or user.is_superuser)


def enrolled_kinds(user: User) -> list[str]:
    """What the account gives as its second factor, as the admin shows it."""
    kinds = []
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        kinds.append(_("application d'authentification"))
    if WebAuthnCredential.objects.filter(user=user, confirmed=True).exists():
        kinds.append(_("clé d'accès"))
    if StaticToken.objects.filter(device__user=user, device__confirmed=True).exists():
        kinds.append(_("codes de secours"))
    return kinds


def needs_enrolment(user: User) -> bool:
    """No authenticator app nor passkey confirmed yet (recovery codes alone do not count)."""
    return not (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    )


# --- enrolment ---------------------------------------------------------------------------------


def pending_totp_device(user: User) -> TOTPDevice:
    """The app being enrolled: the same secret while the page is reloaded."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def secret_text(device: TOTPDevice) -> str:
    """The secret as an app asks it when typed by hand: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))


def qr_code_svg(device: TOTPDevice) -> str:
    """The otpauth:// address of the app as an inline SVG QR code, with a text alternative."""
    return segno.make(device.config_url, error="m").svg_inline(
        scale=5,
        border=4,
        title=_("QR code à scanner avec votre application d'authentification"),
        svgclass="qr-code",
    )


@transaction.atomic
def confirm_totp(device: TOTPDevice, code: str) -> bool:
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if not device.verify_token(code):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return True


@transaction.atomic
def issue_recovery_codes(user: User) -> list[str]:
    """New single-use recovery codes; the previous ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _index in range(settings.OTP_RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


# --- verification ------------------------------------------------------------------------------


def normalised_code(code: str) -> str:
    return "".join(code.split()).lower()


@transaction.atomic
def matching_device(user: User, code: str):
    """The app or recovery code device that accepts `code` (a recovery code is then used up),
    or None. Failures are counted by django-axes (failed), not by the devices' own throttle."""
    code = normalised_code(code)
    for device in devices_for_user(user, for_verify=True):
        if isinstance(device, TOTPDevice | StaticDevice) and device.verify_token(code):
            return device
    return None


def verified(request: HttpRequest, device) -> None:
    """The session gave its second factor with `device`: a new session key (as at log-in), and
    the failures of the identifier cleared, as a successful log-in clears them."""
    request.session.cycle_key()
    otp_login(request, device)
    AxesProxyHandler.update_request(request)
    AxesProxyHandler.get_implementation().second_factor_verified(request, request.user)


def is_locked(request: HttpRequest) -> bool:
    return AxesProxyHandler.is_locked(request, {"username": request.user.identifiant})


def failed(request: HttpRequest) -> bool:
    """A wrong code counts as a failed log-in of the identifier (django-axes, as a wrong
    password): True when it locks the identifier, the session then closed. AxesMiddleware
    answers with the lockout page."""
    user_login_failed.send(
        sender=__name__, credentials={"username": request.user.identifiant}, request=request
    )
    if getattr(request, "axes_locked_out", False):
        logout(request)
        return True
    return False


def log_out_locked(request: HttpRequest) -> None:
    """The identifier is locked while this session waits for its second factor: it closes, and
    the lockout page answers (AxesMiddleware)."""
    request.axes_locked_out = True
    request.axes_credentials = {"username": request.user.identifiant}
    logout(request)


# --- reset by a superuser ----------------------------------------------------------------------


@transaction.atomic
def reset_second_factor(*, by: User, account: User) -> None:
    """Every device of `account` deleted: its sessions lose their verification, and it enrols
    again at its next log-in. Recorded in the admin's history of the account."""
    if not by.is_superuser:
        raise PermissionError(_("Seul un administrateur national réinitialise les facteurs."))
    for device in list(devices_for_user(account, confirmed=None)):
        device.delete()
    history.record(by=by, obj=account, summary=RESET_MESSAGE)


# --- passkeys ----------------------------------------------------------------------------------


def relying_party_id(request: HttpRequest) -> str:
    """The host the browser reached (ALLOWED_HOSTS vouches for it), without its port: a passkey
    belongs to that domain. WebAuthn refuses IP addresses: with `make run`, open localhost."""
    return urlsplit(f"//{request.get_host()}").hostname or ""


class PasskeyHelper(WebAuthnHelper):
    """The origin a passkey ceremony must come from: the portal's, as the browser reached it."""

    def get_allowed_origins(self) -> list[str]:
        return [f"{self.request.scheme}://{self.request.get_host()}"]
