"""The user manual: an index and one page per role (issue 19, item 7; SPEC §10 "Help").

Public, like the legal pages: it is most useful before the first log-in (the invitation, a
forgotten password, the pré-inscription) and holds no personal data, only screenshots of the
demo made by tests/browser/test_screenshots.py (`make screenshots`).
"""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

MANUALS = {
    "gestionnaire": _("Manuel du gestionnaire partenaire"),
    "technicien": _("Manuel du technicien partenaire"),
    "agent": _("Manuel de l'agent de caisse"),
}


@login_not_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "aide/index.html", {"manuals": MANUALS})


@login_not_required
def manual(request: HttpRequest, role: str) -> HttpResponse:
    if role not in MANUALS:
        raise Http404
    return render(
        request, f"aide/{role}.html", {"manuals": MANUALS, "role": role, "title": MANUALS[role]}
    )
