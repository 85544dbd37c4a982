"""The home page of each role (issue 19, item 6): what awaits the person, scoped to their
structure and the selected organisme, in a constant number of queries whatever their numbers."""

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.models import Invitation, Role
from accounts.reviews import is_due_for_review, next_review_date
from accounts.services import account_quota
from demandes.models import Demande, Evenement, Statut
from demandes.services import offres_for

# Each list of a home page shows its first few; its count links to the whole list.
HOME_LIST_SIZE = 5


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
        context.update(gestionnaire_home(request))
    elif request.user.is_technicien:
        context.update(technicien_home(request))
    return render(request, "home.html", context)


def gestionnaire_home(request: HttpRequest) -> dict:
    """The quota's use, the invitations not accepted yet, the next habilitation review."""
    structure = request.user.structure
    pending = Invitation.objects.pending().filter(account=OuterRef("pk")).order_by("-created_at")
    invitations = (
        structure.active_techniciens()
        # No password yet: the invitation is not accepted.
        .filter(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .annotate(
            invited_at=Subquery(pending.values("created_at")[:1]),
            expires_at=Subquery(pending.values("expires_at")[:1]),
        )
        .order_by("nom_usuel", "nom_patronymique", "prenom", "pk")
    )
    return {
        "active_techniciens": structure.active_techniciens().count(),
        # The strictest of the structure's conventions en cours or à venir (SPEC §10).
        "quota_techniciens": account_quota(structure, Role.TECHNICIEN, request.organisme),
        "invitations": list(invitations),
        "now": timezone.now(),
        "review_due": is_due_for_review(structure),
        "next_review": next_review_date(structure),
    }


def technicien_home(request: HttpRequest) -> dict:
    """The complements to provide and the fund's messages (awaiting an answer or unread) on the
    structure's open demandes with the organisme, the technicien's own recent demandes, and the
    offers they may use."""
    demandes = Demande.objects.visible_to(request.user).filter(organisme=request.organisme)
    unread = Evenement.objects.filter(demande=OuterRef("pk"), de_l_organisme=True, lu_le=None)
    waiting = (
        demandes.open()
        .annotate(non_lu=Exists(unread.exclude(message="")))
        .filter(
            Q(statut=Statut.COMPLEMENT_DEMANDE)
            | Q(reponse_attendue_depuis__isnull=False)
            | Q(non_lu=True)
        )
        .select_related("offre")
    )
    complement = Q(statut=Statut.COMPLEMENT_DEMANDE)
    counts = waiting.aggregate(
        complements=Count("pk", filter=complement), messages=Count("pk", filter=~complement)
    )
    convention = request.convention
    return {
        "complements": list(
            waiting.filter(complement).order_by("-urgent", "updated_at", "pk")[:HOME_LIST_SIZE]
        ),
        "complements_count": counts["complements"],
        "messages_attente": list(
            waiting.exclude(complement).order_by("-urgent", "updated_at", "pk")[:HOME_LIST_SIZE]
        ),
        "messages_count": counts["messages"],
        "recent": list(
            demandes.filter(auteur=request.user)
            .select_related("offre")
            .order_by("-created_at", "-pk")[:HOME_LIST_SIZE]
        ),
        "offres": offres_for(request.user, convention) if convention.is_en_cours else [],
    }
