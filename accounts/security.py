"""Log-in protection (SPEC §10): what django-axes counts, the limit per client address, and what
a locked-out person sees. Both log-in forms, the portal's and the admin's, authenticate through
django-axes' backend, so both are guarded here."""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_credentials
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.limits import blocked_until, client_ip, over_limit

from .second_factor import requires_second_factor

# django-axes records the identifier in a column of this length (AccessAttempt.username).
AXES_USERNAME_MAX_LENGTH = 255

# The failed log-ins of each client address (core.limits), whatever the identifier.
LOGIN_CLIENT_GROUP = "login:client"

# client_ip moved to core.limits (shared by every limit); still importable from here.
__all__ = ["LoginAttempts", "axes_username", "client_ip", "lockout_response"]


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str:
    """The identifier as the log-in matches it: 'M.Pichon ' and 'm.pichon' count as one. Cut to
    what axes can record: no identifier is that long (40 characters), and a longer one typed
    is a failed log-in like any other, not an error page."""
    credentials = credentials or {}
    # The log-in form's field, or the key axes itself builds from USERNAME_FIELD (at a success).
    username = (
        credentials.get("username")
        or credentials.get("identifiant")
        or request.POST.get("username", "")
    )
    return username.strip().lower()[:AXES_USERNAME_MAX_LENGTH]


class LoginAttempts(AxesDatabaseHandler):
    """django-axes' records, locking each identifier whatever the address (AXES_LOCKOUT_PARAMETERS
    = ["username"]), plus a limit of failed log-ins per client address across identifiers
    (LOGIN_CLIENT_RATE), which refuses that address for a while and locks no identifier.

    A password is checked only when neither applies; only such a check, failed, counts toward
    the address's limit: a log-in refused by either lock is no new guess. A wrong code of the
    second factor counts as a wrong password (accounts.second_factor.failed).

    For whom a second factor is required, the password alone is not the success that clears the
    identifier's failures (AXES_RESET_ON_SUCCESS), or a thief holding the password could log in
    again every four wrong codes and guess for ever: the second factor is
    (accounts.second_factor.verified calls second_factor_verified).
    """

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        request.login_password_checked = False
        if super().is_locked(request, credentials):
            return True
        request.login_address_blocked_until = blocked_until(
            request, group=LOGIN_CLIENT_GROUP, rate=settings.LOGIN_CLIENT_RATE
        )
        if request.login_address_blocked_until is not None:
            return True
        request.login_password_checked = True
        return False

    def user_logged_in(self, sender, request, user, **kwargs):
        if requires_second_factor(user):
            self.clean_expired_user_attempts(request, get_credentials(user.get_username()))
            return
        super().user_logged_in(sender, request, user, **kwargs)

    def second_factor_verified(self, request, user) -> None:
        super().user_logged_in(None, request, user)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is not None and getattr(request, "login_address_blocked_until", None):
            # Refused before any password was checked: the identifier is not charged with it.
            request.axes_locked_out = True
            request.axes_credentials = credentials
            return
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None and getattr(request, "login_password_checked", False):
            over_limit(request, group=LOGIN_CLIENT_GROUP, rate=settings.LOGIN_CLIENT_RATE)


def lockout_response(request: HttpRequest, original_response, credentials) -> HttpResponse:
    if address_blocked_until := getattr(request, "login_address_blocked_until", None):
        return render(
            request,
            "accounts/address_limited.html",
            {"retry_at": timezone.localtime(address_blocked_until)},
            status=429,
        )
    retry_at = timezone.localtime() + settings.AXES_COOLOFF_TIME
    return render(
        request,
        "accounts/locked_out.html",
        {
            "retry_at": retry_at,
            "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            "failure_limit": settings.AXES_FAILURE_LIMIT,
        },
        status=429,
    )
