"""What must happen before anything else, checked on every request.

In this order: agents and superusers give their second factor (accounts.second_factor); an
expired password is changed; staff stay in the admin and partners in the
portal; a partner accepts the current CGU, then works with an organisme chosen among those whose
convention is en cours or à venir today.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from . import second_factor, services
from .login_chain import organisme_choices_of

SESSION_ORGANISME_KEY = "organisme_id"

# Reachable whatever is pending: leaving, and the page that settles what is pending.
ALWAYS_ALLOWED = {"accounts:logout", "admin:logout"}
PASSWORD_CHANGE = "accounts:password_change"  # noqa: S105 (a URL name)
CGU = "accounts:cgu"
# The few portal addresses the fund's staff use: their password, the home (which sends them to
# the admin) and the attachments of their organisme's demandes.
STAFF_PORTAL_PAGES = {PASSWORD_CHANGE, "home", "demandes:piece"}
ORGANISME_SELECTION = "accounts:organisme_selection"
SECOND_FACTOR = "accounts:second_factor"
SECOND_FACTOR_ENROL = "accounts:second_factor_enrol"
# Where a session that has given only its password may go, and the recovery codes shown once
# right after the enrolment.
SECOND_FACTOR_PAGES = {
    SECOND_FACTOR,
    SECOND_FACTOR_ENROL,
    "accounts:recovery_codes",
    "accounts:passkey_register_begin",
    "accounts:passkey_register_complete",
    "accounts:passkey_verify_begin",
    "accounts:passkey_verify_complete",
}


class AccountPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organisme = None
        request.convention = None
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        match = request.resolver_match
        if not user.is_authenticated or match.view_name in ALWAYS_ALLOWED:
            return None
        in_admin = match.app_name == "admin"
        if not in_admin and not getattr(view_func, "login_required", True):
            return None  # a public page (log-in, forgotten password, invitation link…)

        if match.view_name in SECOND_FACTOR_PAGES:
            return None  # each checks who may use it
        if second_factor.requires_second_factor(user) and not user.is_verified():
            return self.ask_second_factor(request, user)

        if services.password_expired(user):
            if match.view_name == PASSWORD_CHANGE:
                return None
            messages.warning(
                request,
                _(
                    "Votre mot de passe doit être renouvelé (il a plus de %(days)s jours) : "
                    "choisissez-en un nouveau pour continuer."
                )
                % {"days": settings.PASSWORD_MAX_AGE_DAYS},
            )
            return redirect(PASSWORD_CHANGE)

        if user.is_staff:
            if in_admin or match.view_name in STAFF_PORTAL_PAGES:
                return None
            raise PermissionDenied(_("Cette page est réservée aux partenaires."))
        if in_admin:
            return None  # the admin sends non-staff accounts to its own log-in page

        if services.needs_cgu(user):
            return None if match.view_name == CGU else redirect(CGU)
        return self.resolve_organisme(request, match.view_name)

    def ask_second_factor(self, request, user):
        target = SECOND_FACTOR_ENROL if second_factor.needs_enrolment(user) else SECOND_FACTOR
        url = reverse(target)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return redirect(url)

    def resolve_organisme(self, request, view_name: str):
        # Read with the user, in the same statement (accounts/login_chain.py), on this request.
        choices = {choice.organisme.pk: choice for choice in organisme_choices_of(request.user)}
        request.organisme_choices = list(choices.values())
        selected = choices.get(request.session.get(SESSION_ORGANISME_KEY))
        if selected is None:
            request.session.pop(SESSION_ORGANISME_KEY, None)
            if view_name in (ORGANISME_SELECTION, CGU, PASSWORD_CHANGE):
                return None
            url = reverse(ORGANISME_SELECTION)
            if request.method == "GET" and request.path != reverse("home"):
                # A link followed before choosing (an e-mail's): the page it leads to comes next.
                url += "?" + urlencode({"next": request.get_full_path()})
            return redirect(url)
        request.organisme = selected.organisme
        request.convention = selected.convention
        request.organisme_choice = selected
        return None
