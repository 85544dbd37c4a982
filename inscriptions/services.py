"""Pré-inscription (submitted by anyone, decided by an agent of the organisme) and contact.

A convention reference is *claimable* when it designates a convention of the chosen organisme
that has not ended and is not yet *claimed*. It is claimed once a pré-inscription for it has been
validated, or when its structure already has an active gestionnaire (the structure is already on
the portal: the fund adds what it needs in the admin, nobody has to register it again). Several
pending requests may name the same convention (someone must not be able to block the real
partner by submitting first); the first one validated claims it, the others can only be refused.
"""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.cgu import CGU_VERSION
from accounts.models import Role, User
from conventions.models import Convention
from core import history
from notifications.services import EmailToSend, schedule_email, schedule_emails
from organismes.models import Organisme, StructureEvent, StructurePartenaire

from .models import MessageContact, PreInscription, Statut


class InscriptionError(Exception):
    """The operation is refused; the message is shown to the agent as is, in French."""


# --- Convention references ------------------------------------------------------------------


def is_claimed(convention: Convention) -> bool:
    return (
        convention.preinscriptions.filter(statut=Statut.VALIDEE).exists()
        or User.objects.gestionnaires()
        .active()
        .filter(structure_id=convention.structure_id)
        .exists()
    )


def claimable_convention(organisme: Organisme, reference: str) -> Convention | None:
    """The convention `reference` designates for `organisme`, if a pré-inscription may claim it.

    Typed references are compared without regard to case or surrounding spaces. None tells
    nothing more to the person typing: unknown, ended and claimed look the same.
    """
    matches = list(
        Convention.objects.en_cours_ou_a_venir()
        .filter(organisme=organisme, reference__iexact=reference.strip())
        .select_related("structure")[:2]
    )
    if len(matches) != 1 or is_claimed(matches[0]):
        return None
    return matches[0]


# --- Submission -----------------------------------------------------------------------------


@transaction.atomic
def submit_preinscription(*, data: dict, convention: Convention) -> PreInscription:
    """Record the request; acknowledge it to the applicant and tell the organisme's agents."""
    preinscription = PreInscription.objects.create(
        **data, convention=convention, cgu_version=CGU_VERSION
    )
    organisme = preinscription.organisme
    context = {
        "organisme": organisme.nom,
        "structure": preinscription.structure_nom,
        "reference": preinscription.reference_convention,
    }
    schedule_email(
        template="inscriptions/preinscription_recue",
        recipient=preinscription.email,
        context={**context, "contact_url": settings.SITE_URL + reverse("inscriptions:contact")},
    )
    admin_url = settings.SITE_URL + reverse(
        "admin:inscriptions_preinscription_change", args=[preinscription.pk]
    )
    agent_context = {
        **context,
        "siret": preinscription.siret,
        "siret_differs": preinscription.siret_differs,
        "admin_url": admin_url,
    }
    schedule_emails(
        EmailToSend("inscriptions/preinscription_a_traiter", email, agent_context)
        for email in organisme_recipients(organisme)
    )
    return preinscription


def organisme_recipients(organisme: Organisme) -> list[str]:
    """The organisme's active agents whose address works; its referent if it has none."""
    emails = list(
        User.objects.agents()
        .active()
        .reachable()
        .filter(organisme=organisme)
        .order_by("pk")
        .values_list("email", flat=True)
        .distinct()
    )
    return emails or [organisme.email_referent]


# --- Decision by the fund -------------------------------------------------------------------


def _lock_pending(preinscription: PreInscription) -> PreInscription:
    locked = PreInscription.objects.select_for_update().get(pk=preinscription.pk)
    if not locked.is_en_attente:
        raise InscriptionError(
            _("La pré-inscription de %(structure)s a déjà été traitée (%(statut)s).")
            % {"structure": locked.structure_nom, "statut": locked.get_statut_display()}
        )
    return locked


@transaction.atomic
def validate_preinscription(*, by: User, preinscription: PreInscription) -> User:
    """Attach the applicant as the first gestionnaire of the convention's structure.

    The convention's row is locked so that two agents validating two requests for it at once
    cannot both pass; the gestionnaire is created by accounts.services (quota, identifiant,
    history, the usual invitation e-mail).
    """
    preinscription = _lock_pending(preinscription)
    if preinscription.convention_id is None:
        raise InscriptionError(
            _("La convention de cette pré-inscription n'existe plus : refusez la demande.")
        )
    convention = (
        Convention.objects.select_for_update()
        .select_related("organisme")
        .get(pk=preinscription.convention_id)
    )
    if is_claimed(convention):
        raise InscriptionError(
            _(
                "La convention %(reference)s est déjà utilisée : la structure a déjà un "
                "gestionnaire actif ou une autre pré-inscription a été validée. Refusez cette "
                "demande."
            )
            % {"reference": convention.reference}
        )
    structure = StructurePartenaire.objects.get(pk=convention.structure_id)
    try:
        gestionnaire = account_services.create_partner_account(
            by=by,
            role=Role.GESTIONNAIRE,
            structure=structure,
            organisme=convention.organisme,
            data=preinscription.gestionnaire_data(),
        )
    except account_services.AccountRuleError as error:
        raise InscriptionError(str(error)) from error
    preinscription.statut = Statut.VALIDEE
    preinscription.decided_by = by
    preinscription.decided_at = timezone.now()
    preinscription.structure = structure
    preinscription.gestionnaire = gestionnaire
    preinscription.save(
        update_fields=["statut", "decided_by", "decided_at", "structure", "gestionnaire"]
    )
    StructureEvent.objects.create(
        structure=structure,
        kind=StructureEvent.Kind.PREINSCRIPTION_VALIDATED,
        by=by,
        details={
            "preinscription": preinscription.pk,
            "convention": convention.reference,
            "organisme": convention.organisme.nom,
            "siret_saisi": preinscription.siret,
        },
    )
    # The gestionnaire's own creation is in the account's history (accounts.services).
    history.record(
        by=by,
        obj=preinscription,
        changes={"statut": [Statut.EN_ATTENTE, Statut.VALIDEE]},
        summary=_("Pré-inscription validée"),
    )
    history.record(by=by, obj=structure, summary=StructureEvent.Kind.PREINSCRIPTION_VALIDATED.label)
    return gestionnaire


@transaction.atomic
def refuse_preinscription(*, by: User, preinscription: PreInscription, motif: str) -> None:
    """Refuse with a reason, which the applicant receives by e-mail."""
    preinscription = _lock_pending(preinscription)
    preinscription.statut = Statut.REFUSEE
    preinscription.decided_by = by
    preinscription.decided_at = timezone.now()
    preinscription.motif_refus = motif
    preinscription.save(update_fields=["statut", "decided_by", "decided_at", "motif_refus"])
    history.record(
        by=by,
        obj=preinscription,
        changes={"statut": [Statut.EN_ATTENTE, Statut.REFUSEE], "motif_refus": ["", motif]},
        summary=_("Pré-inscription refusée"),
    )
    schedule_email(
        template="inscriptions/preinscription_refusee",
        recipient=preinscription.email,
        context={
            "organisme": preinscription.organisme.nom,
            "structure": preinscription.structure_nom,
            "reference": preinscription.reference_convention,
            "motif": motif,
            "preinscription_url": settings.SITE_URL + reverse("inscriptions:preinscription"),
            "contact_url": settings.SITE_URL + reverse("inscriptions:contact"),
        },
    )


# --- Contact --------------------------------------------------------------------------------


@transaction.atomic
def send_contact_message(*, data: dict) -> MessageContact:
    """Keep the message (the organisme's agents read it in the admin) and relay it by e-mail
    to the organisme's referent, the answer going straight to the sender."""
    message = MessageContact.objects.create(**data)
    organisme = message.organisme
    context = {
        "organisme": organisme.nom,
        "motif": message.get_motif_display(),
        "nom": message.nom,
        "email": message.email,
        "reference": message.reference_convention,
        "message": message.message,
        "admin_url": settings.SITE_URL
        + reverse("admin:inscriptions_messagecontact_change", args=[message.pk]),
    }
    schedule_emails(
        [
            EmailToSend(
                "inscriptions/contact_message",
                organisme.email_referent,
                context,
                reply_to=message.email,
            ),
            # The acknowledgement repeats nothing the sender typed but the subject: the page
            # must not be a way to send chosen text to anyone's address.
            EmailToSend(
                "inscriptions/contact_accuse",
                message.email,
                {"organisme": organisme.nom, "motif": context["motif"]},
            ),
        ]
    )
    return message
