"""The operations people perform on accounts.

Each one is a transaction that checks the rules (quota, last active account, state), writes,
records a line of history and schedules its e-mails after commit. Rules that count accounts are
checked with the structure's row locked, so that two concurrent requests cannot both pass.
"""

import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conventions.models import Convention
from core import history
from core.changes import apply_changes
from core.models import HistoryEntry
from core.validators import login_identifier_base
from notifications.models import SentEmail
from notifications.services import schedule_email
from organismes.models import Organisme, StructurePartenaire

from .cgu import CGU_VERSION
from .models import AccountEvent, HabilitationReview, Invitation, Role, User

# Fields a modification may change, in the order a confirmation lists them.
EDITABLE_FIELDS = (
    "civilite",
    "nom_patronymique",
    "nom_usuel",
    "prenom",
    "fonction",
    "telephone",
    "email",
)


class AccountRuleError(Exception):
    """A rule of SPEC §3–4/§7 refuses the operation; the message is shown as is, in French."""


class QuotaReached(AccountRuleError):
    pass


class LastActiveAccount(AccountRuleError):
    pass


class NoConvention(AccountRuleError):
    pass


class EmailAlreadyUsed(AccountRuleError):
    pass


# --- Login identifiers ----------------------------------------------------------------------


def next_identifiant(prenom: str, nom: str) -> str:
    """'m.pichon', or 'm.pichon2', 'm.pichon3'… : the smallest number from 2 not yet taken.

    Taken means by any account still in the database, active or not.
    """
    base = login_identifier_base(prenom, nom)
    pattern = re.compile(rf"^{re.escape(base)}(\d*)$")
    suffixes = set()
    for identifiant in User.objects.filter(identifiant__startswith=base).values_list(
        "identifiant", flat=True
    ):
        if match := pattern.match(identifiant):
            suffixes.add(match.group(1))
    if "" not in suffixes:
        return base
    number = 2
    while str(number) in suffixes:
        number += 1
    return f"{base}{number}"


def _save_with_new_identifiant(account: User) -> None:
    """Insert the account under the next free identifiant, again if another request took it."""
    for _attempt in range(5):
        account.identifiant = next_identifiant(account.prenom, account.nom)
        try:
            with transaction.atomic():
                account.save()
            return
        except IntegrityError:
            if not User.objects.filter(identifiant=account.identifiant).exists():
                raise
    raise IntegrityError("no free login identifier after 5 attempts")


# --- Quotas ---------------------------------------------------------------------------------


def _lock_structure(structure: StructurePartenaire) -> StructurePartenaire:
    return StructurePartenaire.objects.select_for_update().get(pk=structure.pk)


def account_quota(
    structure: StructurePartenaire, role: str, organisme: Organisme | None = None
) -> int:
    """Maximum of active accounts of this role: the strictest of the structure's conventions en
    cours or à venir, whichever organisme is selected (SPEC §10), since every one of them must
    allow one more account.

    With an organisme (the one the partner or the agent acts for), the structure must have a
    convention en cours or à venir with it.
    """
    conventions = Convention.objects.filter(structure=structure).en_cours_ou_a_venir()
    field = "max_gestionnaires" if role == Role.GESTIONNAIRE else "max_techniciens"
    quotas = list(conventions.values_list("organisme_id", field))
    if not quotas or (organisme is not None and organisme.pk not in {o for o, _q in quotas}):
        raise NoConvention(
            _("Cette structure n'a aucune convention en cours ou à venir avec l'organisme.")
        )
    return min(quota for _organisme, quota in quotas)


def check_quota(structure: StructurePartenaire, role: str, organisme: Organisme | None) -> None:
    """Raise QuotaReached (or NoConvention) if one more active account of `role` is too many.

    Forms call it to show the message next to the field; services call it again under lock.
    """
    quota = account_quota(structure, role, organisme)
    active = structure.comptes.filter(role=role, is_active=True).count()
    if active >= quota:
        label = _("gestionnaires") if role == Role.GESTIONNAIRE else _("techniciens")
        raise QuotaReached(
            _(
                "Le nombre maximum de %(label)s actifs prévu par la convention (%(quota)s) est "
                "atteint."
            )
            % {"label": label, "quota": quota}
        )


EMAIL_TAKEN_HERE = gettext_lazy(
    "Un autre compte actif de cette structure utilise déjà cette adresse e-mail."
)
EMAIL_TAKEN_BY_AN_AGENT = gettext_lazy(
    "Un autre compte d'agent actif utilise déjà cette adresse e-mail."
)
# Refused all the same, but without saying where nor by whom the address is used: a structure's
# gestionnaire must not learn which addresses other structures' accounts have (issue 16).
EMAIL_UNAVAILABLE = gettext_lazy(
    "Cette adresse e-mail ne peut pas être retenue : chaque compte actif doit avoir sa propre "
    "adresse. Indiquez l'adresse e-mail personnelle de la personne."
)


def email_refusal(*, role: str, email: str, structure_id: int | None, exclude_pk=None):
    """Why `email` cannot be an active account's of `role` (SPEC §3), or None if it can.

    Precise when the holder is an agent (only superusers manage agents) or in the same structure
    (whoever asks sees that account anyway); silent about where otherwise.
    """
    holder = (
        User.objects.active()
        .filter(role=role, email=email)
        .exclude(pk=exclude_pk)
        .values("structure_id")
        .first()
    )
    if holder is None:
        return None
    if role == Role.AGENT:
        return str(EMAIL_TAKEN_BY_AN_AGENT)
    if structure_id is not None and holder["structure_id"] == structure_id:
        return str(EMAIL_TAKEN_HERE)
    return str(EMAIL_UNAVAILABLE)


def _check_email_free(account: User) -> None:
    refusal = email_refusal(
        role=account.role,
        email=account.email,
        structure_id=account.structure_id,
        exclude_pk=account.pk,
    )
    if refusal:
        raise EmailAlreadyUsed(refusal)


# --- Creation, modification -----------------------------------------------------------------


@transaction.atomic
def create_partner_account(
    *,
    by: User,
    role: str,
    structure: StructurePartenaire,
    organisme: Organisme | None,
    data: dict[str, Any],
) -> User:
    """Create a gestionnaire or technicien of `structure` and send the invitation.

    `organisme` is the one whose convention sets the quota: the agent's, or the one the
    gestionnaire selected.
    """
    structure = _lock_structure(structure)
    check_quota(structure, role, organisme)
    return _create(User(role=role, structure=structure, created_by=by, **data), by=by)


@transaction.atomic
def create_agent_account(*, by: User, organisme: Organisme, data: dict[str, Any]) -> User:
    return _create(User(role=Role.AGENT, organisme=organisme, created_by=by, **data), by=by)


def _create(account: User, *, by: User) -> User:
    """Save a new account without a password, record it and send its invitation."""
    _check_email_free(account)
    account.set_unusable_password()
    _save_with_new_identifiant(account)
    AccountEvent.objects.create(account=account, kind=AccountEvent.Kind.CREATED, by=by)
    created = ("role", "structure", "organisme", *EDITABLE_FIELDS)
    _record(
        account,
        AccountEvent.Kind.CREATED,
        by=by,
        action=HistoryEntry.Action.ADDITION,
        changes={name: [None, getattr(account, name)] for name in created},
    )
    invite(account, by=by)
    return account


@transaction.atomic
def modify_account(*, by: User, account: User, data: dict[str, Any]) -> dict[str, list]:
    """Change the person's details (never the identifiant); returns {field: [before, after]}."""
    account = User.objects.select_for_update().get(pk=account.pk)
    changes = apply_changes(account, EDITABLE_FIELDS, data)
    if not changes:
        return changes
    if "email" in changes and account.is_active:
        _check_email_free(account)
    update_fields = list(changes)
    if "email" in changes:
        # A new address: what the e-mail provider said of the old one no longer applies.
        account.email_invalid_at = None
        account.email_invalide_motif = ""
        update_fields += ["email_invalid_at", "email_invalide_motif"]
    account.save(update_fields=update_fields)
    AccountEvent.objects.create(
        account=account, kind=AccountEvent.Kind.MODIFIED, by=by, changes=changes
    )
    _record(account, AccountEvent.Kind.MODIFIED, by=by, changes=changes)
    return changes


def _record(account: User, kind: AccountEvent.Kind, *, by: User | None, **entry) -> None:
    """The line of the admin's history of the account (core.history), beside its AccountEvent,
    which is the history its structure's gestionnaires read."""
    history.record(by=by, obj=account, summary=capfirst(kind.label), **entry)


# --- Inactivation, reactivation -------------------------------------------------------------


@transaction.atomic
def inactivate_account(*, by: User | None, account: User, reason: str = "") -> None:
    """Inactivate an account; its pending invitation links stop working.

    The last active gestionnaire of a structure can never be inactivated; the last active
    technicien cannot be by a gestionnaire (the fund may, e.g. on fraud, and so may the
    dormant-accounts job, `by` None, which gives its `reason`). An agent de caisse (no
    structure) is inactivated by a national administrator; the demandes they handled stay
    theirs until reassigned (the demandes' list "d'un agent inactivé").
    """
    if account.structure_id is None:
        structure = None
        others_active = User.objects.none()
    else:
        structure = _lock_structure(account.structure)
        others_active = structure.comptes.filter(role=account.role, is_active=True).exclude(
            pk=account.pk
        )
    account = User.objects.select_for_update().get(pk=account.pk)
    if not account.is_active:
        return
    if account.is_gestionnaire and not others_active.exists():
        raise LastActiveAccount(
            _(
                "C'est le dernier gestionnaire actif de la structure : créez ou réactivez "
                "d'abord un autre gestionnaire."
            )
        )
    if (
        account.is_technicien
        and by is not None
        and by.is_gestionnaire
        and not others_active.exists()
    ):
        raise LastActiveAccount(
            _(
                "C'est le dernier technicien actif de la structure : créez d'abord le compte "
                "qui le remplace."
            )
        )
    account.is_active = False
    account.inactivated_at = timezone.now()
    account.save(update_fields=["is_active", "inactivated_at"])
    account.invitations.pending().update(revoked_at=timezone.now())
    AccountEvent.objects.create(
        account=account, kind=AccountEvent.Kind.INACTIVATED, by=by, reason=reason
    )
    _record(
        account,
        AccountEvent.Kind.INACTIVATED,
        by=by,
        changes={"is_active": [True, False]},
        reason=reason,
    )


@transaction.atomic
def reactivate_account(
    *, by: User, account: User, reason: str, organisme: Organisme | None = None
) -> None:
    """Reactivate within the quota; the old password stops working and a new link is sent."""
    structure = _lock_structure(account.structure)
    account = User.objects.select_for_update().get(pk=account.pk)
    if account.is_active:
        return
    check_quota(structure, account.role, organisme)
    _check_email_free(account)
    changes = {
        "is_active": [False, True],
        "reactivation_reason": [account.reactivation_reason, reason],
    }
    account.is_active = True
    account.inactivated_at = None
    account.reactivation_reason = reason
    account.set_unusable_password()
    account.save(update_fields=["is_active", "inactivated_at", "reactivation_reason", "password"])
    AccountEvent.objects.create(
        account=account, kind=AccountEvent.Kind.REACTIVATED, by=by, reason=reason
    )
    _record(account, AccountEvent.Kind.REACTIVATED, by=by, changes=changes)
    invite(account, by=by, reactivation=True)


# --- Revue des habilitations ---------------------------------------------------------------


@transaction.atomic
def record_habilitation_review(*, by: User, decisions: dict[int, bool]) -> HabilitationReview:
    """A gestionnaire's review of their structure's active techniciens (SPEC §10): `decisions`
    maps each one's pk to True (confirmed) or False (inactivated, by the rules of
    inactivate_account). All or nothing: one refusal (the last active technicien) and nothing
    is recorded. Each account gets its line of history; the review is recorded as a whole."""
    structure = _lock_structure(by.structure)
    techniciens = list(
        structure.active_techniciens().filter(pk__in=decisions).select_for_update().order_by("pk")
    )
    now = timezone.now()
    confirmed = [account for account in techniciens if decisions[account.pk]]
    for account in techniciens:
        if not decisions[account.pk]:
            inactivate_account(by=by, account=account)
    AccountEvent.objects.bulk_create(
        AccountEvent(account=account, kind=AccountEvent.Kind.HABILITATION_CONFIRMED, by=by, at=now)
        for account in confirmed
    )
    return HabilitationReview.objects.create(
        structure=structure,
        by=by,
        at=now,
        confirmed=len(confirmed),
        inactivated=len(techniciens) - len(confirmed),
    )


# --- Invitations ----------------------------------------------------------------------------


def invite(account: User, *, by: User | None, reactivation: bool = False) -> Invitation:
    """Issue a new "Créer mon mot de passe" link (killing older ones) and e-mail it after commit."""
    from .tasks import send_invitation

    now = timezone.now()
    account.invitations.pending().update(revoked_at=now)
    invitation = Invitation.objects.create(account=account, expires_at=Invitation.new_expiry())
    template = "accounts/reactivation" if reactivation else "accounts/invitation"
    schedule_email(
        template=template,
        recipient=account.email,
        account=account,
        context={"invitation_id": invitation.pk},  # the link is made at send time
        task=send_invitation.name,
    )
    AccountEvent.objects.create(account=account, kind=AccountEvent.Kind.INVITATION_SENT, by=by)
    return invitation


@transaction.atomic
def resend_invitation(*, by: User | None, account: User) -> Invitation:
    """A new link for an active account whose password was never set."""
    account = User.objects.select_for_update().get(pk=account.pk)
    if not account.is_active or account.has_usable_password():
        raise AccountRuleError(
            _("Ce compte n'attend pas d'invitation : il est inactif ou son mot de passe existe.")
        )
    reactivation = account.events.filter(kind=AccountEvent.Kind.REACTIVATED).exists()
    if by is not None:  # an agent's action; not the person asking for a new link
        _record(account, AccountEvent.Kind.INVITATION_SENT, by=by)
    return invite(account, by=by, reactivation=reactivation)


@transaction.atomic
def accept_invitation(*, invitation: Invitation, password: str) -> User:
    """Set the password chosen through a valid link; the link is then used up."""
    invitation = (
        Invitation.objects.select_for_update().select_related("account").get(pk=invitation.pk)
    )
    if not invitation.is_usable or not invitation.account.is_active:
        raise AccountRuleError(_("Ce lien n'est plus valide."))
    account = invitation.account
    record_new_password(account, password)
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    # A link sent again beside this one (_send_invitation_again) has no more use.
    account.invitations.pending().update(revoked_at=invitation.used_at)
    AccountEvent.objects.create(account=account, kind=AccountEvent.Kind.PASSWORD_SET, by=account)
    return account


@transaction.atomic
def renew_expired_invitation(*, invitation: Invitation) -> Invitation:
    """Whoever holds an expired link may ask for a new one: it goes to the account's e-mail."""
    invitation = (
        Invitation.objects.select_for_update().select_related("account").get(pk=invitation.pk)
    )
    account = invitation.account
    if not (invitation.is_expired and invitation.used_at is None and invitation.revoked_at is None):
        raise AccountRuleError(_("Ce lien ne peut pas être renouvelé."))
    return resend_invitation(by=None, account=account)


# --- Passwords, CGU -------------------------------------------------------------------------


def record_new_password(account: User, password: str) -> None:
    """Set a password chosen by its owner; the 12-month clock starts again."""
    account.set_password(password)
    account.password_changed_at = timezone.now()
    account.save(update_fields=["password", "password_changed_at"])


def password_expired(account: User) -> bool:
    if account.password_changed_at is None:
        return True
    max_age = timedelta(days=settings.PASSWORD_MAX_AGE_DAYS)
    return timezone.now() - account.password_changed_at > max_age


def needs_cgu(account: User) -> bool:
    return account.is_partner and account.cgu_version != CGU_VERSION


def accept_cgu(account: User) -> None:
    account.cgu_version = CGU_VERSION
    account.cgu_accepted_at = timezone.now()
    account.save(update_fields=["cgu_version", "cgu_accepted_at"])


# --- Forgotten password or identifiant ------------------------------------------------------
# Run by the worker (accounts.tasks), so that the request does the same work whether or not an
# address is known, and both answer the same page. An account gets at most one such e-mail every
# FORGOTTEN_ACCOUNT_MINUTES, whoever asks. A person whose invitation is still pending gets it
# again: it is never revoked here, so that nobody can cut a newcomer's invitation short.

FORGOTTEN_TEMPLATES = (
    "accounts/password_reset",
    "accounts/identifiant",
    "accounts/invitation",
    "accounts/reactivation",
)


def _forgotten_targets(email: str):
    """The active accounts of the address, but those that got such an e-mail just now."""
    since = timezone.now() - timedelta(minutes=settings.FORGOTTEN_ACCOUNT_MINUTES)
    recent = SentEmail.objects.filter(
        account=OuterRef("pk"), template__in=FORGOTTEN_TEMPLATES, created_at__gte=since
    )
    return (
        User.objects.active()
        .filter(email=email.strip().lower())
        .exclude(Exists(recent))
        .select_related("structure", "organisme")
    )


def _send_invitation_again(account: User) -> None:
    """The pending invitation, sent again: a second link beside the first, with the same expiry,
    so that the link already in the newcomer's mailbox keeps working whoever asked (SPEC §10);
    a new invitation only when none is pending and usable. Setting the password with either
    link kills the other (accept_invitation)."""
    from .tasks import send_invitation

    pending = next((i for i in account.invitations.pending().order_by("-pk") if i.is_usable), None)
    if pending is None:
        invite(account, by=None)
        return
    sibling = Invitation.objects.create(account=account, expires_at=pending.expires_at)
    reactivation = account.events.filter(kind=AccountEvent.Kind.REACTIVATED).exists()
    schedule_email(
        template="accounts/reactivation" if reactivation else "accounts/invitation",
        recipient=account.email,
        account=account,
        context={"invitation_id": sibling.pk},
        task=send_invitation.name,
    )


@transaction.atomic
def request_password_reset(email: str) -> None:
    from .tasks import send_password_reset

    for account in _forgotten_targets(email):
        if not account.has_usable_password():
            _send_invitation_again(account)
            continue
        schedule_email(
            template="accounts/password_reset",
            recipient=account.email,
            account=account,
            context={},  # the link is made at send time
            task=send_password_reset.name,
        )


@transaction.atomic
def send_identifiant_reminder(email: str) -> None:
    for account in _forgotten_targets(email):
        if not account.has_usable_password():
            _send_invitation_again(account)
            continue
        schedule_email(
            template="accounts/identifiant",
            recipient=account.email,
            account=account,
            context={
                "prenom_nom": account.get_full_name(),
                "identifiant": account.identifiant,
                "role": account.get_role_display(),
                "rattachement": str(account.structure or account.organisme or ""),
                "login_url": settings.SITE_URL + reverse("accounts:login"),
            },
        )
