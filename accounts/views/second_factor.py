"""The second factor's pages (SPEC §10): enrolment (an authenticator app, or a passkey),
recovery codes shown once, and the verification at each log-in. Reached only by a session that
gave its password (LoginRequiredMiddleware) of someone who must give a second factor."""

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.models import WebAuthnCredential

from .. import second_factor
from ..forms import SecondFactorCodeForm
from ..security import lockout_response

PRIVATE = [sensitive_post_parameters("code"), never_cache]


def next_url(request: HttpRequest) -> str:
    """Where the person was going (a page of this site only), else the admin's home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def with_next(url_name: str, target: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': target})}"


def locked_out(request: HttpRequest) -> HttpResponse:
    second_factor.log_out_locked(request)
    return lockout_response(request, None, None)


class SecondFactorView(View):
    """What the enrolment and the verification share: who may come, and a code to check."""

    template_name: str
    recovery = False

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not second_factor.requires_second_factor(request.user):
            return redirect("home")
        self.next = next_url(request)
        if request.user.is_verified():
            return redirect(self.next)
        elsewhere = self.elsewhere(request)
        if elsewhere:
            return redirect(with_next(elsewhere, self.next))
        form = SecondFactorCodeForm(
            request.POST if request.method == "POST" else None, recovery=self.recovery
        )
        if request.method == "POST":
            if second_factor.is_locked(request):
                return locked_out(request)
            if form.is_valid():
                device = self.check(request, form.cleaned_data["code"])
                if device is not None:
                    second_factor.verified(request, device)
                    return self.success(request, device)
                form.reject()
                if second_factor.failed(request):
                    return lockout_response(request, None, None)
        return render(request, self.template_name, {**self.context(request), "form": form})

    def elsewhere(self, request: HttpRequest) -> str | None:
        raise NotImplementedError

    def check(self, request: HttpRequest, code: str):
        raise NotImplementedError

    def success(self, request: HttpRequest, device) -> HttpResponse:
        raise NotImplementedError

    def context(self, request: HttpRequest) -> dict:
        return {"next": self.next, "next_query": urlencode({"next": self.next})}


def show_recovery_codes(request: HttpRequest, target: str) -> str:
    """New recovery codes, kept in the session until the next page shows them, once."""
    codes = second_factor.issue_recovery_codes(request.user)
    request.session[second_factor.RECOVERY_CODES_SESSION_KEY] = codes
    return with_next("accounts:recovery_codes", target)


@method_decorator(PRIVATE, name="dispatch")
class EnrolView(SecondFactorView):
    """First admin log-in: scan the QR code (or type the secret), confirm with a code."""

    template_name = "accounts/second_factor/enrol.html"

    def elsewhere(self, request):
        return None if second_factor.needs_enrolment(request.user) else "accounts:second_factor"

    def check(self, request, code):
        device = second_factor.pending_totp_device(request.user)
        return device if second_factor.confirm_totp(device, code) else None

    def success(self, request, device):
        return redirect(show_recovery_codes(request, self.next))

    def context(self, request):
        device = second_factor.pending_totp_device(request.user)
        return {
            **super().context(request),
            "qr_code": second_factor.qr_code_svg(device),
            "secret": second_factor.secret_text(device),
        }


@method_decorator(PRIVATE, name="dispatch")
class VerifyView(SecondFactorView):
    """Later log-ins: the app's code, a recovery code, or a passkey."""

    template_name = "accounts/second_factor/verify.html"
    recovery = True

    def elsewhere(self, request):
        return (
            "accounts:second_factor_enrol" if second_factor.needs_enrolment(request.user) else None
        )

    def check(self, request, code):
        return second_factor.matching_device(request.user, code)

    def success(self, request, device):
        if isinstance(device, StaticDevice):
            left = device.token_set.count()
            messages.warning(
                request,
                ngettext(
                    "Vous avez utilisé un code de secours : il vous en reste %(count)d. Demandez "
                    "à un administrateur national de réinitialiser vos facteurs si vous n'avez "
                    "plus votre application.",
                    "Vous avez utilisé un code de secours : il vous en reste %(count)d. Demandez "
                    "à un administrateur national de réinitialiser vos facteurs si vous n'avez "
                    "plus votre application.",
                    left,
                )
                % {"count": left},
            )
        return redirect(self.next)

    def context(self, request):
        has_passkey = WebAuthnCredential.objects.filter(user=request.user, confirmed=True)
        return {**super().context(request), "has_passkey": has_passkey.exists()}


@method_decorator(never_cache, name="dispatch")
class RecoveryCodesView(View):
    """The recovery codes, right after the enrolment, shown this once."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not (second_factor.requires_second_factor(request.user) and request.user.is_verified()):
            return redirect("home")
        codes = request.session.pop(second_factor.RECOVERY_CODES_SESSION_KEY, None)
        return render(
            request,
            "accounts/second_factor/recovery_codes.html",
            {"codes": codes, "next": next_url(request)},
        )


# --- passkeys: django-otp-webauthn's ceremonies, as a second factor only -----------------------


class NotForThisAccount(webauthn_errors.OTPWebAuthnApiError):
    status_code = 403
    default_code = "second_factor_not_required"


class PasskeyAccessMixin:
    def check_second_factor(self) -> None:
        user = self.request.user
        if not second_factor.requires_second_factor(user):
            raise NotForThisAccount()


class PasskeyRegisterBegin(PasskeyAccessMixin, webauthn_views.BeginCredentialRegistrationView):
    def user_is_mfa_enrolled(self, user) -> bool:
        return not second_factor.needs_enrolment(user)

    def check_can_register(self):
        self.check_second_factor()


class PasskeyRegisterComplete(
    PasskeyAccessMixin, webauthn_views.CompleteCredentialRegistrationView
):
    """The first passkey is an enrolment: the session verified with it, recovery codes."""

    def user_is_mfa_enrolled(self, user) -> bool:
        return not second_factor.needs_enrolment(user)

    def check_can_register(self):
        self.check_second_factor()

    def post(self, *args, **kwargs):
        enrolment = second_factor.needs_enrolment(self.request.user)
        response = super().post(*args, **kwargs)
        device = WebAuthnCredential.objects.get(
            user=self.request.user, pk=json.loads(response.content)["id"]
        )
        target = next_url(self.request)
        if not enrolment:
            return JsonResponse({"id": device.pk, "redirect_url": target})
        second_factor.verified(self.request, device)
        return JsonResponse(
            {"id": device.pk, "redirect_url": show_recovery_codes(self.request, target)}
        )


class PasskeyVerifyBegin(PasskeyAccessMixin, webauthn_views.BeginCredentialAuthenticationView):
    def check_can_authenticate(self):
        if not self.request.user.is_authenticated:
            raise webauthn_errors.NotAuthenticated()
        self.check_second_factor()
        super().check_can_authenticate()


class PasskeyVerifyComplete(
    PasskeyAccessMixin, webauthn_views.CompleteCredentialAuthenticationView
):
    """A passkey that fails the ceremony counts as a wrong code toward the lockout."""

    def check_can_authenticate(self):
        if not self.request.user.is_authenticated:
            raise webauthn_errors.NotAuthenticated()
        self.check_second_factor()

    def post(self, *args, **kwargs):
        if second_factor.is_locked(self.request):
            return locked_out(self.request)
        try:
            return super().post(*args, **kwargs)
        except webauthn_errors.OTPWebAuthnApiError:
            second_factor.failed(self.request)
            raise

    def complete_auth(self, device) -> None:
        second_factor.verified(self.request, device)

    def get_success_url(self) -> str:
        return next_url(self.request)
