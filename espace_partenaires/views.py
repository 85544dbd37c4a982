from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def home(request: HttpRequest) -> HttpResponse:
    """Agents and administrators work in the admin; a partner gets the home of their role."""
    if request.user.is_staff:
        return redirect("admin:index")
    context = {"convention": request.convention, "convention_etat": request.convention.etat()}
    if request.user.is_gestionnaire:
        context["active_techniciens"] = request.user.structure.active_techniciens().count()
    return render(request, "home.html", context)
