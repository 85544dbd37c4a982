from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from . import services
from .models import Invitation

# The token leaves the address bar at once (kept in the session), so that it does not leak
# through the Referer header or the browser history: the approach of Django's password reset.
INVITATION_SESSION_KEY = "_invitation_token"
TOKEN_PLACEHOLDER = "creer-mot-de-passe"  # noqa: S105 (a URL segment, not a secret)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


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
        form = SetPasswordForm(account, request.POST or None)
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
