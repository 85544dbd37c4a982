"""'Gestion des comptes': a gestionnaire manages the techniciens of their structure (SPEC §4).

Every technicien is looked up through the gestionnaire's structure, so another structure's
account is simply not found (404). Each action has its own page, which is what works without
JavaScript; with JavaScript, static/js/dialogs.js shows the same questions in a <dialog>.
"""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.changes import describe_changes
from core.pagination import HISTORY_PAGE_SIZE
from core.spreadsheets import SpreadsheetWriter

from .. import services
from ..forms import AccountChangeForm, ReactivationForm, TechnicienCreationForm
from ..models import Role, User

LIST_PAGE_SIZE = 50


def gestionnaire_required(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_gestionnaire:
            raise PermissionDenied(_("Cette page est réservée aux gestionnaires partenaires."))
        return view(request, *args, **kwargs)

    return wrapper


def technicien_of(request: HttpRequest, pk: int) -> User:
    return get_object_or_404(request.user.structure.techniciens(), pk=pk)


def quota_of(request: HttpRequest) -> int:
    return services.account_quota(request.user.structure, Role.TECHNICIEN, request.organisme)


@gestionnaire_required
def technicien_list(request: HttpRequest) -> HttpResponse:
    structure = request.user.structure
    active_count = structure.active_techniciens().count()
    quota = quota_of(request)
    page = Paginator(structure.techniciens().in_list_order(), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "accounts/techniciens/list.html",
        {
            "page": page,
            "active_count": active_count,
            "quota": quota,
            "can_add": active_count < quota,
            # Only when there is one: with none, there is nothing to warn about.
            "last_active": active_count == 1,
        },
    )


@gestionnaire_required
def technicien_create(request: HttpRequest) -> HttpResponse:
    structure = request.user.structure
    try:
        services.check_quota(structure, Role.TECHNICIEN, request.organisme)
    except services.AccountRuleError as error:
        messages.error(request, str(error))
        return redirect("accounts:techniciens")
    form = TechnicienCreationForm(
        request.POST if request.method == "POST" else None, structure=structure
    )
    if form.is_bound and form.is_valid():
        try:
            account = services.create_partner_account(
                by=request.user,
                role=Role.TECHNICIEN,
                structure=structure,
                organisme=request.organisme,
                data=form.cleaned_data,
            )
        except services.AccountRuleError as error:
            form.add_error(None, str(error))  # a concurrent request took the last place
        else:
            messages.success(
                request,
                _(
                    "Le compte de %(name)s est créé avec l'identifiant %(identifiant)s. Un e-mail "
                    "l'invite à créer son mot de passe."
                )
                % {"name": account.get_full_name(), "identifiant": account.identifiant},
            )
            return redirect("accounts:techniciens")
    return render(request, "accounts/techniciens/form.html", {"form": form, "creation": True})


@gestionnaire_required
def technicien_modify(request: HttpRequest, pk: int) -> HttpResponse:
    technicien = technicien_of(request, pk)
    form = AccountChangeForm(
        request.POST if request.method == "POST" else None, instance=technicien
    )
    if form.is_bound and form.is_valid():
        try:
            changes = services.modify_account(
                by=request.user, account=technicien, data=form.cleaned_data
            )
        except services.AccountRuleError as error:
            form.add_error(None, str(error))
        else:
            if changes:
                messages.success(
                    request,
                    ngettext(
                        "Le changement a bien été pris en compte : %(changes)s.",
                        "Les %(count)d changements ont bien été pris en compte : %(changes)s.",
                        len(changes),
                    )
                    % {"count": len(changes), "changes": describe_changes(changes, User)},
                )
            else:
                messages.info(request, _("Aucun changement : le compte est inchangé."))
            return redirect("accounts:techniciens")
    return render(
        request,
        "accounts/techniciens/form.html",
        {"form": form, "creation": False, "technicien": technicien},
    )


@gestionnaire_required
def technicien_inactivate(request: HttpRequest, pk: int) -> HttpResponse:
    technicien = technicien_of(request, pk)
    if request.method == "POST":
        try:
            services.inactivate_account(by=request.user, account=technicien)
        except services.AccountRuleError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Le compte de %(name)s est inactivé.") % {"name": technicien.get_full_name()},
            )
        return redirect("accounts:techniciens")
    last_active = (
        technicien.is_active
        and not request.user.structure.active_techniciens().exclude(pk=technicien.pk).exists()
    )
    return render(
        request,
        "accounts/techniciens/inactivate.html",
        {"technicien": technicien, "last_active": last_active},
    )


@gestionnaire_required
def technicien_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Manual 000 §IV-2.3 in two steps, each a page without JavaScript: the question (OUI / NON),
    then the reason (ANNULER / VALIDER). Step 1's OUI posts no reason and leads to step 2; step
    2's form always posts its textarea, so only it is validated, and only it changes anything."""
    technicien = technicien_of(request, pk)
    if technicien.is_active:
        return redirect("accounts:techniciens")
    context = {"technicien": technicien, "form": None}
    if request.method != "POST":
        return render(request, "accounts/techniciens/reactivate.html", context)
    form = ReactivationForm(request.POST if "motif" in request.POST else None)
    if form.is_bound and form.is_valid():
        try:
            services.reactivate_account(
                by=request.user,
                account=technicien,
                reason=form.cleaned_data["motif"],
                organisme=request.organisme,
            )
        except services.AccountRuleError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _(
                    "Le compte de %(name)s est réactivé. Un e-mail l'invite à créer un nouveau "
                    "mot de passe ; son identifiant %(identifiant)s est inchangé."
                )
                % {"name": technicien.get_full_name(), "identifiant": technicien.identifiant},
            )
            return redirect("accounts:techniciens")
    return render(request, "accounts/techniciens/reactivate.html", {**context, "form": form})


@require_POST
@gestionnaire_required
def technicien_resend_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    technicien = technicien_of(request, pk)
    try:
        services.resend_invitation(by=request.user, account=technicien)
    except services.AccountRuleError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Une nouvelle invitation est envoyée à %(email)s ; le lien précédent ne marche plus.")
            % {"email": technicien.email},
        )
    # Sent from the home page's "Invitations en attente" (issue 19, item 6): back there.
    return redirect("home" if request.POST.get("depuis") == "accueil" else "accounts:techniciens")


@gestionnaire_required
def technicien_history(request: HttpRequest, pk: int) -> HttpResponse:
    technicien = technicien_of(request, pk)
    events = technicien.events.select_related("by").order_by("-at", "-pk")
    page = Paginator(events, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "accounts/techniciens/history.html", {"technicien": technicien, "page": page}
    )


EXPORT_COLUMNS = (
    _lazy("Rôle"),
    _lazy("Civilité"),
    _lazy("Nom patronymique"),
    _lazy("Nom usuel"),
    _lazy("Prénom"),
    _lazy("Identifiant"),
    _lazy("Fonction"),
    _lazy("Téléphone"),
    _lazy("Adresse e-mail"),
    _lazy("Statut"),
    _lazy("Créé le"),
    _lazy("Inactivé le"),
    _lazy("Mot de passe créé"),
    _lazy("Dernière connexion"),
)


def _datetime(value) -> str:
    return date_format(timezone.localtime(value), "d/m/Y H:i") if value else ""


@gestionnaire_required
def accounts_export(request: HttpRequest) -> HttpResponse:
    """The structure's accounts for the revue d'habilitation: a CSV for spreadsheets."""
    structure = request.user.structure
    filename = f"comptes-{structure.siret}-{timezone.localdate():%Y-%m-%d}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # the BOM makes spreadsheet programs read UTF-8
    writer = SpreadsheetWriter(response)
    writer.writerow(EXPORT_COLUMNS)
    for account in structure.comptes.in_list_order("role"):
        writer.writerow(
            (
                account.get_role_display(),
                account.get_civilite_display(),
                account.nom_patronymique,
                account.nom_usuel,
                account.prenom,
                account.identifiant,
                account.fonction,
                account.telephone,
                account.email,
                _("actif") if account.is_active else _("inactif"),
                _datetime(account.created_at),
                _datetime(account.inactivated_at),
                _("oui") if account.has_usable_password() else _("non"),
                _datetime(account.last_login),
            )
        )
    return response
