import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from core.limits import over_limit
from notifications.services import publish_after_commit

from .. import services
from ..cgu import CGU_VERSION
from ..forms import (
    CguForm,
    EmailRequestForm,
    LoginForm,
    OrganismeSelectionForm,
    PasswordChangeForm,
    SetPasswordForm,
)
from ..middleware import SESSION_ORGANISME_KEY
from ..models import Invitation

# The token leaves the address bar at once (kept in the session), so that it does not leak
# through the Referer header or the browser history: the approach of Django's password reset.
INVITATION_SESSION_KEY = "_invitation_token"
TOKEN_PLACEHOLDER = "creer-mot-de-passe"  # noqa: S105 (a URL segment, not a secret)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        messages.success(self.request, _("Votre nouveau mot de passe est enregistré."))
        return super().form_valid(form)


@method_decorator(login_not_required, name="dispatch")
class EmailRequestView(FormView):
    """ "Mot de passe oublié" and "Identifiant oublié": an e-mail address in, the same answer
    out whether or not it is known, and the same work: the request only hands the address to
    `task`, which looks it up and sends what was asked in the worker (SPEC §10). Limited per
    client address and per address typed; beyond, the same answer and nothing sent."""

    form_class = EmailRequestForm
    task = None

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        if not self.limited(email):
            publish_after_commit(self.task, email)
        return super().form_valid(form)

    def limited(self, email: str) -> bool:
        group = f"forgotten:{self.task.name}"
        by_client = over_limit(
            self.request, group=f"{group}:client", rate=settings.FORGOTTEN_CLIENT_RATE
        )
        by_address = over_limit(
            self.request,
            group=f"{group}:address",
            rate=settings.FORGOTTEN_ADDRESS_RATE,
            key=hashlib.sha256(email.encode()).hexdigest(),
        )
        return by_client or by_address


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")


class CguView(View):
    """The conditions of use: readable by anyone; accepted by each partner, version by version."""

    template_name = "accounts/cgu.html"

    def dispatch(self, request, *args, **kwargs):
        needs_acceptance = request.user.is_authenticated and services.needs_cgu(request.user)
        form = (
            CguForm(request.POST if request.method == "POST" else None)
            if needs_acceptance
            else None
        )
        if request.method == "POST" and form is not None and form.is_valid():
            services.accept_cgu(request.user)
            return redirect("home")
        return render(request, self.template_name, {"form": form, "cgu_version": CGU_VERSION})


class OrganismeSelectionView(View):
    """Choose the organisme to work with (SPEC §3), again at any time from the header."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_partner:
            raise PermissionDenied
        choices = request.organisme_choices  # resolved by AccountPolicyMiddleware
        if not choices:
            return render(request, "accounts/organisme_none.html")
        if len(choices) == 1 and request.method == "GET":
            return self.select(request, choices[0], warn=True)
        by_pk = {choice.organisme.pk: choice for choice in choices}
        last = request.user.last_organisme_id
        form = OrganismeSelectionForm(
            request.POST if request.method == "POST" else None,
            choices=choices,
            initial={"organisme": last if last in by_pk else ""},
        )
        next_url = self.next_url(request)
        if request.method == "POST" and form.is_valid():
            choice = by_pk[form.cleaned_data["organisme"]]
            if choice.ends_soon and "continuer" not in request.POST:
                return render(
                    request,
                    "accounts/organisme_warning.html",
                    {"choice": choice, "next": next_url},
                )
            return self.select(request, choice)
        return render(
            request,
            "accounts/organisme_selection.html",
            {
                "form": form,
                "has_ending_soon": any(choice.ends_soon for choice in choices),
                "next": next_url,
            },
        )

    @staticmethod
    def next_url(request) -> str:
        """Where the partner was going (a page of the portal only), else the home page."""
        target = request.POST.get("next") or request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return reverse("home")

    def select(self, request, choice, warn: bool = False):
        request.session[SESSION_ORGANISME_KEY] = choice.organisme.pk
        if request.user.last_organisme_id != choice.organisme.pk:
            request.user.last_organisme = choice.organisme
            request.user.save(update_fields=["last_organisme"])
        if warn and choice.ends_soon:
            messages.warning(request, ending_soon_message(choice))
        return redirect(self.next_url(request))


def ending_soon_message(choice) -> str:
    return _(
        "Votre convention avec %(organisme)s se termine le %(date)s, rapprochez-vous de votre "
        "organisme d'assurance maladie."
    ) % {"organisme": choice.organisme.nom, "date": date_format(choice.end_date, "j F Y")}


@method_decorator(login_not_required, name="dispatch")
@method_decorator([sensitive_post_parameters(), never_cache], name="dispatch")
class InvitationView(View):
    """The "Créer mon mot de passe" link of an invitation e-mail."""

    def dispatch(self, request: HttpRequest, token: str) -> HttpResponse:
        if token != TOKEN_PLACEHOLDER:
            request.session[INVITATION_SESSION_KEY] = token
            return redirect("accounts:invitation", TOKEN_PLACEHOLDER)
        token = request.session.get(INVITATION_SESSION_KEY, "")
        invitation = (
            Invitation.objects.select_related("account")
            .filter(token_hash=Invitation.hash_token(token))
            .first()
            if token
            else None
        )
        if invitation is None or invitation.used_at or not invitation.account.is_active:
            return render(request, "accounts/invitation_invalid.html", status=404)
        if invitation.revoked_at:
            return render(
                request, "accounts/invitation_invalid.html", {"revoked": True}, status=410
            )
        if invitation.is_expired:
            return self.expired(request, invitation)
        return self.set_password(request, invitation)

    def expired(self, request: HttpRequest, invitation: Invitation) -> HttpResponse:
        if request.method == "POST":
            services.renew_expired_invitation(invitation=invitation)
            request.session.pop(INVITATION_SESSION_KEY, None)
            return render(request, "accounts/invitation_renewed.html")
        return render(request, "accounts/invitation_expired.html", status=410)

    def set_password(self, request: HttpRequest, invitation: Invitation) -> HttpResponse:
        account = invitation.account
        form = SetPasswordForm(account, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            services.accept_invitation(
                invitation=invitation, password=form.cleaned_data["new_password1"]
            )
            request.session.pop(INVITATION_SESSION_KEY, None)
            messages.success(
                request,
                _(
                    "Votre mot de passe est enregistré. Connectez-vous avec votre identifiant "
                    "%(identifiant)s."
                )
                % {"identifiant": account.identifiant},
            )
            return redirect("accounts:login")
        return render(
            request, "accounts/invitation_set_password.html", {"form": form, "account": account}
        )
