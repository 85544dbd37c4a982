"""What techniciens and agents do with demandes: each a transaction that checks the rules, writes
the timeline and schedules its e-mails after commit."""

import secrets
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from conventions.models import Convention, Offre
from core.nir import NIR_MESSAGE, contains_nir
from notifications.services import schedule_email

from . import catalogue, notify
from .attachments import SIGNATURES
from .models import (
    COMMENT_MAX_LENGTH,
    Demande,
    Evenement,
    NoteInterne,
    PieceJointe,
    ReferenceCounter,
    Statut,
)


class DemandeRuleError(Exception):
    """A rule refuses the operation; the message is shown as is, in French."""


# --- Offers ---------------------------------------------------------------------------------


def offres_for(user: User, convention: Convention) -> list[Offre]:
    """The offers this person may use under this convention (SPEC §5).

    Techniciens use every active offer, except "Contacter votre organisme" when the convention
    reserves it to gestionnaires; gestionnaires use only that one, when it is reserved to them.
    """
    offres = [o for o in convention.offres.all() if o.code in catalogue.MOTIFS]
    if user.is_gestionnaire:
        reserved = convention.contact_reserve_aux_gestionnaires
        return [o for o in offres if o.code == catalogue.CONTACTER and reserved]
    if user.is_technicien:
        if convention.contact_reserve_aux_gestionnaires:
            return [o for o in offres if o.code != catalogue.CONTACTER]
        return offres
    return []


def check_can_create(user: User, convention: Convention, offre: Offre | None = None) -> None:
    if convention.structure_id != user.structure_id:
        raise DemandeRuleError(_("Cette convention n'est pas celle de votre structure."))
    if not convention.is_en_cours:
        if convention.etat() == Convention.Etat.A_VENIR:
            raise DemandeRuleError(
                _(
                    "La convention avec %(organisme)s n'a pas encore commencé : vous pourrez "
                    "déposer des demandes à partir du %(date)s."
                )
                % {
                    "organisme": convention.organisme.nom,
                    "date": date_format(convention.date_debut, "j F Y"),
                }
            )
        raise DemandeRuleError(_("La convention avec cet organisme est terminée."))
    allowed = offres_for(user, convention)
    if not allowed:
        raise DemandeRuleError(_("Aucune offre de service de la convention ne vous est ouverte."))
    if offre is not None and offre not in allowed:
        raise DemandeRuleError(_("Cette offre de service n'est pas ouverte par la convention."))


def open_duplicates(structure, organisme, *, nom: str, prenom: str, date_naissance):
    """Open demandes of this structure with this organisme for the same person."""
    return Demande.objects.open().filter(
        structure=structure,
        organisme=organisme,
        nom__iexact=nom.strip(),
        prenom__iexact=prenom.strip(),
        date_naissance=date_naissance,
    )


# --- What a demande says -------------------------------------------------------------------

# The form's consent checkbox says the same when it is left unticked.
CONSENTEMENT_REQUIS = gettext_lazy(
    "Cochez cette case : une demande ne peut être envoyée qu'avec l'accord de l'assuré(e)."
)


def validate_demande(offre: Offre, data: Mapping) -> None:
    """The rules of a demande's content under this offer (SPEC §5), whoever sends it.

    Raises a ValidationError keyed by field name, with every error at once: the portal's form
    shows each next to its field. A value missing from `data` counts as blank.
    """
    errors: dict[str, list[ValidationError]] = {}

    def refuse(field: str, message: str, code: str, **params) -> None:
        errors.setdefault(field, []).append(
            ValidationError(message, code=code, params=params or None)
        )

    # Django's own messages, as the form's fields give them: « Ce champ est obligatoire. »,
    # « Sélectionnez un choix valide. … n'en fait pas partie. »
    required = _("This field is required.")
    invalid_choice = _("Select a valid choice. %(value)s is not one of the available choices.")

    # The free texts hold no NIR (SPEC §10), as the form's fields check: the same message.
    for field in ("nom", "prenom", "commentaire"):
        if contains_nir(data.get(field) or ""):
            refuse(field, NIR_MESSAGE, "nir")

    motif = data.get("motif") or ""
    if not motif:
        refuse("motif", required, "required")
    elif motif not in dict(catalogue.MOTIFS.get(offre.code, ())):
        refuse("motif", invalid_choice, "invalid_choice", value=motif)

    if not (data.get("commentaire") or "").strip():
        if offre.code == catalogue.CONTACTER:
            refuse("commentaire", required, "required")  # the comment is the question
        elif (offre.code, motif) in catalogue.MOTIFS_TO_SPECIFY:
            refuse(
                "commentaire",
                _("Précisez votre demande dans le commentaire pour ce motif."),
                "to_specify",
            )

    if not data.get("consentement"):
        refuse("consentement", CONSENTEMENT_REQUIS, "required")

    urgent, categorie = bool(data.get("urgent")), data.get("categorie_urgence") or ""
    if categorie and categorie not in dict(catalogue.URGENCES):
        refuse("categorie_urgence", invalid_choice, "invalid_choice", value=categorie)
    elif urgent and not categorie:
        refuse(
            "categorie_urgence", _("Choisissez la catégorie de la situation urgente."), "required"
        )
    elif categorie and not urgent:
        refuse(
            "categorie_urgence",
            _(
                "Une catégorie d'urgence ne s'indique que pour une situation urgente : "
                "cochez « Situation urgente ou bloquée » ou choisissez « Aucune »."
            ),
            "without_urgency",
        )

    if errors:
        raise ValidationError(errors)


# --- References -----------------------------------------------------------------------------


def next_reference(year: int) -> str:
    """EP-2026-000123: the year's counter, incremented under the row's lock (UPDATE … SET
    last = last + 1), so that concurrent creations never get the same number."""
    for _attempt in range(3):
        if ReferenceCounter.objects.filter(year=year).update(last=F("last") + 1):
            last = ReferenceCounter.objects.get(year=year).last
            return f"EP-{year}-{last:06d}"
        try:
            with transaction.atomic():
                ReferenceCounter.objects.create(year=year, last=1)
            return f"EP-{year}-{1:06d}"
        except IntegrityError:
            continue  # another request created the year's counter first: increment it
    raise IntegrityError("reference counter unavailable")


# --- Creation -------------------------------------------------------------------------------


def _store(demande: Demande, evenement: Evenement, uploads: Iterable, sens: str) -> None:
    for upload in uploads:
        piece = PieceJointe(
            demande=demande,
            evenement=evenement,
            sens=sens,
            nom=upload.safe_name,
            type_mime=upload.mime,
            taille=upload.size,
        )
        # The stored name is random: the original one is only displayed.
        extension = SIGNATURES[upload.mime][1]
        piece.fichier.save(f"{secrets.token_hex(16)}{extension}", upload, save=False)
        piece.save()


@transaction.atomic
def create_demande(
    *, by: User, convention: Convention, offre: Offre, data: dict, uploads: Iterable = ()
) -> Demande:
    """Raises DemandeRuleError when the convention does not allow it (now, to this person, for
    this offer), ValidationError by field when the demande breaks a rule of its content; nothing
    is written then."""
    check_can_create(by, convention, offre)
    validate_demande(offre, data)
    demande = Demande.objects.create(
        reference=next_reference(timezone.localdate().year),
        offre=offre,
        structure=convention.structure,
        organisme=convention.organisme,
        convention=convention,
        auteur=by,
        **data,
    )
    evenement = Evenement.objects.create(demande=demande, kind=Evenement.Kind.CREEE, auteur=by)
    _store(demande, evenement, uploads, PieceJointe.Sens.ENTRANTE)
    notify.fund_event(
        demande, notify.Event.NOUVELLE_URGENTE if demande.urgent else notify.Event.NOUVELLE
    )
    return demande


# --- Lifecycle ------------------------------------------------------------------------------


def _lock(demande: Demande) -> Demande:
    # Lock the demande's row only: its author may be gone (an outer join), which PostgreSQL
    # refuses to lock.
    return (
        Demande.objects.select_for_update(of=("self",))
        .select_related("convention", "auteur", "organisme", "structure")
        .get(pk=demande.pk)
    )


def _move(
    demande: Demande, statut: str, *, by: User, message: str = "", reponse_attendue: bool = False
) -> Evenement:
    if not demande.can_become(statut):
        raise DemandeRuleError(
            _("Une demande « %(from)s » ne peut pas passer à « %(to)s ».")
            % {"from": demande.get_statut_display(), "to": Statut(statut).label}
        )
    demande.statut = statut
    fields = ["statut", "updated_at"]
    if statut == Statut.CLOTUREE:
        demande.closed_at = timezone.now()
        demande.reponse = message
        fields += ["closed_at", "reponse"]
    if statut == Statut.CLOTUREE or not by.is_staff:
        demande.reponse_attendue_depuis = None  # closed, or the partner answered
        fields.append("reponse_attendue_depuis")
    evenement = Evenement.objects.create(
        demande=demande,
        kind=Evenement.Kind.STATUT,
        statut=statut,
        message=message,
        de_l_organisme=by.is_staff,
        auteur=by,
        reponse_attendue=reponse_attendue,
    )
    if reponse_attendue:
        demande.reponse_attendue_depuis = evenement.at
        fields.append("reponse_attendue_depuis")
    demande.save(update_fields=fields)
    return evenement


def _notify_author(demande: Demande, template: str) -> None:
    author = demande.auteur
    if author is None or not author.is_active:
        return
    schedule_email(
        template=template,
        recipient=author.email,
        account=author,
        context={
            "prenom_nom": author.get_full_name(),
            "reference": demande.reference,
            "organisme": demande.organisme.nom,
            "link": settings.SITE_URL + reverse("demandes:detail", args=[demande.pk]),
        },
    )


def agents_of(organisme_id: int):
    """The agents a demande of this organisme may be assigned to: its active agents."""
    return User.objects.agents().active().filter(organisme_id=organisme_id)


def _check_organisme(by: User, demande: Demande) -> None:
    # The admin finds the demande through the agent's scope already; a service called from
    # elsewhere must not act on another organisme's demande either.
    if not by.is_superuser and by.organisme_id != demande.organisme_id:
        raise DemandeRuleError(_("Cette demande n'est pas celle de votre organisme."))


def _assign(demande: Demande, agent: User | None, *, by: User) -> None:
    """The new owner (None: released) and the internal line of the timeline that says so."""
    demande.assigned_to = agent
    demande.assigned_at = timezone.now() if agent is not None else None
    demande.save(update_fields=["assigned_to", "assigned_at", "updated_at"])
    Evenement.objects.create(
        demande=demande,
        kind=Evenement.Kind.ATTRIBUTION,
        attribue_a=agent,
        de_l_organisme=True,
        auteur=by,
    )


@transaction.atomic
def prendre_en_charge(*, by: User, demande: Demande) -> None:
    """En cours, and the demande is the agent's (a superuser, who is no agent of the
    organisme, only moves the status)."""
    demande = _lock(demande)
    _check_organisme(by, demande)
    _move(demande, Statut.EN_COURS, by=by)
    if by.is_agent and demande.assigned_to_id != by.pk:
        _assign(demande, by, by=by)


@transaction.atomic
def attribuer(*, by: User, demande: Demande, agent: User | None) -> None:
    """Assign the demande to an active agent of its organisme, or release it (agent=None)."""
    demande = _lock(demande)
    _check_organisme(by, demande)
    if not demande.is_open:
        raise DemandeRuleError(_("Cette demande est clôturée : elle ne s'attribue plus."))
    if agent is not None and not agents_of(demande.organisme_id).filter(pk=agent.pk).exists():
        raise DemandeRuleError(
            _("%(agent)s n'est pas un agent actif de l'organisme de la demande.")
            % {"agent": agent.get_full_name()}
        )
    if demande.assigned_to_id == (agent.pk if agent else None):
        if agent is None:
            raise DemandeRuleError(_("Cette demande n'est attribuée à personne."))
        raise DemandeRuleError(
            _("Cette demande est déjà attribuée à %(agent)s.") % {"agent": agent.get_full_name()}
        )
    _assign(demande, agent, by=by)


@transaction.atomic
def demander_complement(*, by: User, demande: Demande, message: str) -> None:
    """An agent's message that expects an answer and moves the status (SPEC §10)."""
    demande = _lock(demande)
    _check_organisme(by, demande)
    _move(demande, Statut.COMPLEMENT_DEMANDE, by=by, message=message, reponse_attendue=True)
    _notify_author(demande, "demandes/complement_demande")


@transaction.atomic
def fournir_complement(*, by: User, demande: Demande, message: str, uploads: Iterable = ()):
    """The partner's message that answers a complement asked, and moves the status."""
    return _provide_complement(_lock(demande), by=by, message=message, uploads=uploads)


def _provide_complement(demande: Demande, *, by: User, message: str, uploads: Iterable):
    evenement = _move(demande, Statut.COMPLEMENT_FOURNI, by=by, message=message)
    _store(demande, evenement, uploads, PieceJointe.Sens.ENTRANTE)
    notify.fund_event(demande, notify.Event.COMPLEMENT_FOURNI)
    return evenement


# --- Messages -------------------------------------------------------------------------------


def _check_can_write(by: User, demande: Demande, texte: str) -> None:
    if not Demande.objects.visible_to(by).filter(pk=demande.pk).exists():
        raise DemandeRuleError(_("Cette demande n'est pas accessible."))
    if not demande.is_open:
        raise DemandeRuleError(
            _("Cette demande est clôturée : ses échanges ne reçoivent plus de message.")
        )
    # The forms say it next to the field first; the service holds the rule whoever calls it.
    if not texte.strip():
        raise DemandeRuleError(_("Un message ne peut pas être vide."))
    if contains_nir(texte):
        raise DemandeRuleError(NIR_MESSAGE)
    if len(texte) > COMMENT_MAX_LENGTH:
        raise DemandeRuleError(
            _("Un message a %(max)s caractères au plus.") % {"max": COMMENT_MAX_LENGTH}
        )


@transaction.atomic
def ecrire_message(
    *,
    by: User,
    demande: Demande,
    texte: str,
    uploads: Iterable = (),
    reponse_attendue: bool = False,
) -> Evenement:
    """A message of the thread (SPEC §10), from the partner's structure or from the organisme.

    The other side is told: a partner's message the organisme's agents, at once or in their
    digest as each chose (notify.fund_event), an agent's the demande's author. An agent's
    message may expect an answer, which the partner's next message gives; while a complement is
    asked, that message is the complement and moves the status."""
    demande = _lock(demande)
    _check_can_write(by, demande, texte)
    uploads = list(uploads)
    if not by.is_staff and demande.statut == Statut.COMPLEMENT_DEMANDE:
        return _provide_complement(demande, by=by, message=texte, uploads=uploads)
    if by.is_staff and uploads and not demande.convention.habilitee:
        raise DemandeRuleError(_("La convention n'est pas habilitée à recevoir des documents."))
    evenement = Evenement.objects.create(
        demande=demande,
        kind=Evenement.Kind.MESSAGE,
        message=texte,
        de_l_organisme=by.is_staff,
        auteur=by,
        reponse_attendue=by.is_staff and reponse_attendue,
    )
    if by.is_staff:
        _store(demande, evenement, uploads, PieceJointe.Sens.SORTANTE)
        if reponse_attendue:
            demande.reponse_attendue_depuis = evenement.at
            demande.save(update_fields=["reponse_attendue_depuis", "updated_at"])
        _notify_author(demande, "demandes/message_organisme")
    else:
        _store(demande, evenement, uploads, PieceJointe.Sens.ENTRANTE)
        if demande.reponse_attendue_depuis is not None:
            demande.reponse_attendue_depuis = None
            demande.save(update_fields=["reponse_attendue_depuis", "updated_at"])
        notify.fund_event(demande, notify.Event.MESSAGE_PARTENAIRE)
    return evenement


# --- Private notes --------------------------------------------------------------------------


@transaction.atomic
def ecrire_note(*, by: User, demande: Demande, texte: str) -> NoteInterne:
    """An agent's private note (SPEC §10): never shown to the partner."""
    if not by.is_staff or not Demande.objects.visible_to(by).filter(pk=demande.pk).exists():
        raise DemandeRuleError(_("Cette demande n'est pas accessible."))
    if contains_nir(texte):
        raise DemandeRuleError(NIR_MESSAGE)
    return NoteInterne.objects.create(demande=demande, auteur=by, texte=texte)


@transaction.atomic
def cloturer(*, by: User, demande: Demande, reponse: str, uploads: Iterable = ()) -> None:
    demande = _lock(demande)
    _check_organisme(by, demande)
    uploads = list(uploads)
    if uploads and not demande.convention.habilitee:
        raise DemandeRuleError(_("La convention n'est pas habilitée à recevoir des documents."))
    evenement = _move(demande, Statut.CLOTUREE, by=by, message=reponse)
    _store(demande, evenement, uploads, PieceJointe.Sens.SORTANTE)
    _notify_author(demande, "demandes/cloturee")


@transaction.atomic
def joindre_documents(*, by: User, demande: Demande, uploads: Iterable, message: str = ""):
    """Outgoing documents of the fund: only for a convention habilitée (SPEC §5)."""
    demande = _lock(demande)
    if not demande.convention.habilitee:
        raise DemandeRuleError(_("La convention n'est pas habilitée à recevoir des documents."))
    if demande.is_anonymisee:
        raise DemandeRuleError(
            _("Cette demande est anonymisée : elle ne reçoit plus de documents.")
        )
    evenement = Evenement.objects.create(
        demande=demande,
        kind=Evenement.Kind.PIECES,
        message=message,
        de_l_organisme=True,
        auteur=by,
    )
    _store(demande, evenement, uploads, PieceJointe.Sens.SORTANTE)
