"""'Revue des habilitations' (SPEC §10): the gestionnaire confirms or inactivates each active
technicien of the structure, all on one page, one POST; works without JavaScript."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import services
from ..forms import HabilitationReviewForm
from .techniciens import gestionnaire_required


def _summary(review) -> str:
    confirmed = ngettext(
        "%(count)d compte confirmé", "%(count)d comptes confirmés", review.confirmed
    ) % {"count": review.confirmed}
    inactivated = ngettext(
        "%(count)d compte inactivé", "%(count)d comptes inactivés", review.inactivated
    ) % {"count": review.inactivated}
    return _("La revue des habilitations est enregistrée : %(confirmed)s, %(inactivated)s.") % {
        "confirmed": confirmed,
        "inactivated": inactivated,
    }


@gestionnaire_required
def habilitation_review(request: HttpRequest) -> HttpResponse:
    structure = request.user.structure
    # Scoped by the queryset: only this structure's active techniciens are fields of the form.
    techniciens = list(structure.active_techniciens().in_list_order())
    form = HabilitationReviewForm(
        request.POST if request.method == "POST" else None, techniciens=techniciens
    )
    if form.is_bound and form.is_valid():
        decisions = {
            pk: choice == HabilitationReviewForm.CONFIRM for pk, choice in form.decisions().items()
        }
        try:
            review = services.record_habilitation_review(by=request.user, decisions=decisions)
        except services.AccountRuleError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _summary(review))
            return redirect("accounts:habilitation_review")
    last_review = structure.habilitation_reviews.select_related("by").order_by("-at", "-pk").first()
    return render(
        request,
        "accounts/habilitation_review.html",
        {"form": form, "last_review": last_review},
    )
