"""Log-in protection: what django-axes counts, and what a locked-out person sees."""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_credentials
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .second_factor import requires_second_factor

# django-axes records the identifier in a column of this length (AccessAttempt.username).
AXES_USERNAME_MAX_LENGTH = 255


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


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, the TRUSTED_PROXY_COUNT-th from the right of X-Forwarded-For.

    Each trusted proxy appends the address it received the request from, so the addresses to
    the left of that one were written by the client and prove nothing.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
        if len(addresses) >= count:
            return addresses[-count]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response, credentials) -> HttpResponse:
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


class AxesHandler(AxesDatabaseHandler):
    """django-axes' database handler, for whom a second factor is required: the password alone
    is not the success that clears the identifier's failures (AXES_RESET_ON_SUCCESS), or a
    thief holding the password could log in again every four wrong codes and guess for ever.
    The second factor is (accounts.second_factor.verified)."""

    def user_logged_in(self, sender, request, user, **kwargs):
        if requires_second_factor(user):
            self.clean_expired_user_attempts(request, get_credentials(user.get_username()))
            return
        super().user_logged_in(sender, request, user, **kwargs)

    def second_factor_verified(self, request, user) -> None:
        super().user_logged_in(None, request, user)
