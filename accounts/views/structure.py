"""'Ma structure': a gestionnaire updates the structure's address and phone (SPEC §8)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.changes import describe_changes
from core.pagination import HISTORY_PAGE_SIZE
from organismes import services
from organismes.forms import CoordonneesForm
from organismes.models import StructurePartenaire

from .techniciens import gestionnaire_required


@gestionnaire_required
def ma_structure(request: HttpRequest) -> HttpResponse:
    structure = request.user.structure
    form = CoordonneesForm(request.POST if request.method == "POST" else None, instance=structure)
    if form.is_bound and form.is_valid():
        changes = services.update_coordonnees(
            by=request.user, structure=structure, data=form.cleaned_data
        )
        if changes:
            messages.success(
                request,
                ngettext(
                    "Le changement est enregistré : %(changes)s.",
                    "Les %(count)d changements sont enregistrés : %(changes)s.",
                    len(changes),
                )
                % {
                    "count": len(changes),
                    "changes": describe_changes(changes, StructurePartenaire),
                },
            )
        else:
            messages.info(request, _("Aucun changement : les coordonnées sont inchangées."))
        return redirect("accounts:ma_structure")
    # The page shows what is stored, not what a rejected form holds.
    structure = StructurePartenaire.objects.get(pk=structure.pk)
    history = Paginator(
        structure.events.select_related("by").order_by("-at", "-pk"), HISTORY_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/ma_structure.html",
        {"structure": structure, "form": form, "page": history},
    )
