"""The public pages: pré-inscription of a structure, contact. No account needed.

Both are protected by ALTCHA's proof of work (no third party, no tracking) and by a limit of
submissions per client address (core.limits).
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override

from core.limits import over_limit

from . import services
from .forms import ContactForm, PreInscriptionForm

# The ALTCHA widget adds its stylesheet with the page's nonce (read from <meta name="csp-nonce">)
# and computes in Web Workers made from a blob: these two pages allow exactly that.
ALTCHA_CSP = {
    **settings.SECURE_CSP,
    "style-src": [CSP.SELF, CSP.NONCE],
    "worker-src": [CSP.SELF, "blob:"],
}


def rate_limited(group: str, rate_setting: str):
    """Count the POSTs of each client address; beyond settings.<rate_setting>, a 429 page."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST" and over_limit(
                request, group=group, rate=getattr(settings, rate_setting)
            ):
                return render(request, "inscriptions/trop_de_demandes.html", status=429)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def public_form(group: str, rate_setting: str):
    def decorator(view):
        return login_not_required(csp_override(ALTCHA_CSP)(rate_limited(group, rate_setting)(view)))

    return decorator


@public_form("preinscription", "PREINSCRIPTION_RATE")
def preinscription(request: HttpRequest) -> HttpResponse:
    form = PreInscriptionForm(request.POST if request.method == "POST" else None, request=request)
    if form.is_bound and form.is_valid():
        services.submit_preinscription(data=form.preinscription_data(), convention=form.convention)
        return redirect("inscriptions:preinscription_envoyee")
    return render(request, "inscriptions/preinscription.html", {"form": form})


@login_not_required
def preinscription_envoyee(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "inscriptions/preinscription_envoyee.html",
        {
            "invitation_hours": settings.INVITATION_TIMEOUT_HOURS,
            "contact_url": reverse("inscriptions:contact"),
        },
    )


@public_form("contact", "CONTACT_RATE")
def contact(request: HttpRequest) -> HttpResponse:
    form = ContactForm(request.POST if request.method == "POST" else None, request=request)
    if form.is_bound and form.is_valid():
        services.send_contact_message(data=form.contact_data())
        return redirect("inscriptions:contact_envoye")
    return render(request, "inscriptions/contact.html", {"form": form})


@login_not_required
def contact_envoye(request: HttpRequest) -> HttpResponse:
    return render(request, "inscriptions/contact_envoye.html")
