from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def home(request: HttpRequest) -> HttpResponse:
    """Agents and administrators work in the admin; partners get their home page."""
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "home.html")
