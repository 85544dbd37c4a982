"""The partner's side of demandes (SPEC §5): choose an offer, fill its form, follow the
structure's demandes with the selected organisme, answer a complement; and the download of files.

Demandes are looked up through the user's structure, so another structure's demande is simply not
found (404). The organisme and its convention come from the middleware (request.convention).
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.services import Action, ObjectType, record_access

from . import catalogue, delays, history, services
from .forms import ComplementForm, DemandeFilterForm, DemandeForm, MessageForm
from .models import Demande, Evenement, PieceJointe, Statut, mark_read

LIST_PAGE_SIZE = history.PAGE_SIZE


def structure_demandes(request: HttpRequest):
    """The demandes of the user's structure, through the one rule of who sees what."""
    return Demande.objects.visible_to(request.user)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """A redirect with the reason when the convention does not allow new demandes now."""
    try:
        services.check_can_create(request.user, request.convention)
    except services.DemandeRuleError as error:
        messages.error(request, str(error))
        return redirect("demandes:list")
    return None


def demande_choose(request: HttpRequest) -> HttpResponse:
    if refusal := _refusal(request):
        return refusal
    convention = request.convention
    choices = [
        (offre, _guide(request, offre)) for offre in services.offres_for(request.user, convention)
    ]
    contact_reserve = (
        request.user.is_technicien
        and convention.contact_reserve_aux_gestionnaires
        and any(o.code == catalogue.CONTACTER for o in convention.offres.all())
    )
    return render(
        request,
        "demandes/choose.html",
        {"choices": choices, "contact_reserve": contact_reserve and catalogue.CONTACTER_RESERVE},
    )


def _guide(request: HttpRequest, offre) -> dict[str, str]:
    return catalogue.offer_guide(
        offre.code, organisme=request.organisme.nom, habilitee=request.convention.habilitee
    )


def demande_create(request: HttpRequest, offre_code: str) -> HttpResponse:
    if not request.convention.is_en_cours:
        return _refusal(request)
    offres = {offre.code: offre for offre in services.offres_for(request.user, request.convention)}
    offre = offres.get(offre_code)
    if offre is None:
        raise Http404(_("Cette offre de service n'est pas ouverte par la convention."))
    form = DemandeForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        offre=offre,
        structure=request.user.structure,
        organisme=request.organisme,
    )
    if form.is_bound and form.is_valid():
        try:
            demande = services.create_demande(
                by=request.user,
                convention=request.convention,
                offre=offre,
                data=form.demande_data(),
                uploads=form.cleaned_data["pieces"],
            )
        except services.DemandeRuleError as error:
            form.add_error(None, str(error))  # the convention changed since the page was shown
        except ValidationError as error:
            form.add_rule_errors(error)
        else:
            messages.success(
                request,
                _(
                    "Votre demande est envoyée à %(organisme)s sous la référence %(reference)s. "
                    "Vous pouvez suivre son traitement ici."
                )
                % {"organisme": request.organisme.nom, "reference": demande.reference},
            )
            return redirect("demandes:detail", pk=demande.pk)
    return render(
        request,
        "demandes/form.html",
        {
            "form": form,
            "offre": offre,
            "guide": _guide(request, offre),
            "files_lost": form.is_bound and bool(request.FILES),
            "usual_days": delays.usual_processing_days_cached(request.organisme, offre),
        },
    )


def demande_list(request: HttpRequest) -> HttpResponse:
    """ "Mes demandes": the structure's demandes with the selected organisme, newest first, read
    by hand-written SQL (demandes/history.py)."""
    filters = DemandeFilterForm(request.GET or None)
    paginator = history.HistoryPaginator(request.user, request.organisme.pk, filters.criteria())
    page = paginator.get_page(request.GET.get("page"))
    can_create = request.convention.is_en_cours and bool(
        services.offres_for(request.user, request.convention)
    )
    return render(
        request,
        "demandes/list.html",
        {
            "page": page,
            "filters": filters,
            "filtered": filters.is_bound and any(filters.cleaned_data.values()),
            "can_create": can_create,
        },
    )


def _detail(
    request: HttpRequest, demande: Demande, complement_form=None, message_form=None
) -> HttpResponse:
    """The demande, and its timeline, which is its thread with the organisme (SPEC §10): a
    complement asked is answered by the complement's form, otherwise an open demande takes a
    message; a closed one is read-only. Who handles it at the fund is the fund's business: the
    attributions are not the partner's timeline, and the agent's name shows only if the fund
    opts in."""
    evenements = (
        demande.evenements.exclude(kind=Evenement.Kind.ATTRIBUTION)
        .select_related("auteur")
        .prefetch_related("pieces")
    )
    question = None
    if demande.statut == Statut.COMPLEMENT_DEMANDE:
        complement_form = complement_form or ComplementForm()
        # The fund's question, shown with the reply form (read from the timeline already
        # fetched: no query of its own).
        question = next(
            (e for e in reversed(evenements) if e.statut == Statut.COMPLEMENT_DEMANDE), None
        )
    if message_form is None and demande.is_open and complement_form is None:
        message_form = MessageForm()
    agent_name = ""
    if settings.SHOW_AGENT_NAME_TO_PARTNERS and demande.assigned_to_id:
        agent_name = demande.assigned_to.get_full_name()
    return render(
        request,
        "demandes/detail.html",
        {
            "demande": demande,
            "evenements": evenements,
            "complement_form": complement_form,
            "complement_question": question,
            "message_form": message_form,
            "usual_days": demande.is_open
            and delays.usual_processing_days_cached(demande.organisme, demande.offre),
            "agent_name": agent_name,
            "organisme": demande.organisme.nom,
        },
    )


def demande_of(request: HttpRequest, pk: int) -> Demande:
    demandes = structure_demandes(request).select_related("offre", "auteur", "organisme")
    return get_object_or_404(demandes, pk=pk)


def demande_detail(request: HttpRequest, pk: int) -> HttpResponse:
    demande = demande_of(request, pk)
    mark_read(demande, by_organisme=False)
    return _detail(request, demande)


def _write(request: HttpRequest, demande: Demande, form, *, form_name: str, send, done: str):
    """A partner's message or complement: the form's errors next to its fields on the demande's
    page, a refused rule as a message on top, else the confirmation."""
    if not form.is_valid():
        return _detail(request, demande, **{form_name: form})
    try:
        send(form.cleaned_data)
    except services.DemandeRuleError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done % {"organisme": demande.organisme.nom})
    return redirect("demandes:detail", pk=demande.pk)


@require_POST
def demande_message(request: HttpRequest, pk: int) -> HttpResponse:
    demande = demande_of(request, pk)
    if not demande.is_open:
        messages.error(
            request, _("Cette demande est clôturée : ses échanges sont en lecture seule.")
        )
        return redirect("demandes:detail", pk=demande.pk)
    return _write(
        request,
        demande,
        MessageForm(request.POST, request.FILES),
        form_name="message_form",
        send=lambda data: services.ecrire_message(
            by=request.user, demande=demande, texte=data["texte"], uploads=data["pieces"]
        ),
        done=_("Votre message est envoyé à %(organisme)s."),
    )


@require_POST
def demande_complement(request: HttpRequest, pk: int) -> HttpResponse:
    demande = demande_of(request, pk)
    if demande.statut != Statut.COMPLEMENT_DEMANDE:
        messages.error(request, _("L'organisme n'attend pas de complément pour cette demande."))
        return redirect("demandes:detail", pk=demande.pk)
    return _write(
        request,
        demande,
        ComplementForm(request.POST, request.FILES),
        form_name="complement_form",
        send=lambda data: services.fournir_complement(
            by=request.user, demande=demande, message=data["message"], uploads=data["pieces"]
        ),
        done=_("Votre complément est envoyé à %(organisme)s."),
    )


def piece_download(request: HttpRequest, pk: int) -> FileResponse:
    """The only way to a stored file: looked up among the files of the demandes the person may
    see (else 404). An agent's or a superuser's download is a row of the access log."""
    pieces = PieceJointe.objects.visible_to(request.user).select_related("demande")
    piece = get_object_or_404(pieces, pk=pk)
    record_access(
        request,
        Action.DOWNLOAD_PIECE
        if piece.sens == PieceJointe.Sens.ENTRANTE
        else Action.DOWNLOAD_DOCUMENT,
        object_type=ObjectType.PIECE,
        object_id=piece.pk,
        reference=piece.demande.reference,
    )
    return FileResponse(
        piece.fichier.open("rb"),
        as_attachment=True,
        filename=piece.nom,
        content_type=piece.type_mime,
    )
