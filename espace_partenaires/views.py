from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import Role
from accounts.reviews import is_due_for_review
from accounts.services import account_quota


def home(request: HttpRequest) -> HttpResponse:
    """Agents and administrators work in the admin; a partner gets the home of their role."""
    if request.user.is_staff:
        return redirect("admin:index")
    context = {
        "convention": request.convention,
        "convention_etat": request.convention.etat(),
        "review_due": False,
    }
    if request.user.is_gestionnaire:
        structure = request.user.structure
        context["active_techniciens"] = structure.active_techniciens().count()
        # The strictest of the structure's conventions en cours or à venir (SPEC §10).
        context["quota_techniciens"] = account_quota(structure, Role.TECHNICIEN, request.organisme)
        context["review_due"] = is_due_for_review(structure)
    return render(request, "home.html", context)
