from celery import shared_task
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from notifications.models import SentEmail
from notifications.services import send_claimed

from . import jobs, services
from .models import Invitation, Role, User

ROLE_WORDS = {
    Role.GESTIONNAIRE: ("gestionnaire partenaire", "GESTIONNAIRE partenaire", "votre structure"),
    Role.TECHNICIEN: ("technicien partenaire", "TECHNICIEN partenaire", "votre structure"),
    Role.AGENT: ("agent de caisse", "AGENT DE CAISSE", "votre organisme"),
    Role.ADMINISTRATEUR: ("administrateur national", "ADMINISTRATEUR", "Espace Partenaires"),
}


@shared_task(name="accounts.tasks.send_invitation")
def send_invitation(sent_email_id: int) -> None:
    """Make the link's secret here, at send time, so that it is neither stored nor carried by the
    broker; an invitation superseded or revoked before it could go is cancelled (the newer one
    has its own e-mail)."""
    send_claimed(sent_email_id, invitation_context)


def invitation_context(sent: SentEmail) -> dict | None:
    invitation = Invitation.objects.select_related("account").get(pk=sent.context["invitation_id"])
    if not invitation.is_usable:
        return None
    account = invitation.account
    token = invitation.issue_token()
    role, role_upper, scope = ROLE_WORDS[account.role]
    return {
        "prenom_nom": account.get_full_name(),
        "identifiant": account.identifiant,
        "role": role,
        "role_upper": role_upper,
        "scope": scope,
        "link": settings.SITE_URL + reverse("accounts:invitation", args=[token]),
        "timeout_hours": settings.INVITATION_TIMEOUT_HOURS,
    }


@shared_task(name="accounts.tasks.forgotten_password")
def forgotten_password(email: str) -> None:
    """The lookup of "Mot de passe oublié", in the worker: the request does the same work
    whether or not the address is known."""
    services.request_password_reset(email)


@shared_task(name="accounts.tasks.forgotten_identifiant")
def forgotten_identifiant(email: str) -> None:
    services.send_identifiant_reminder(email)


@shared_task(name="accounts.tasks.end_conventions")
def end_conventions() -> dict:
    return jobs.end_conventions().as_dict()


@shared_task(name="accounts.tasks.warn_convention_ends")
def warn_convention_ends() -> dict:
    return jobs.warn_convention_ends().as_dict()


@shared_task(name="accounts.tasks.purge_inactive_accounts")
def purge_inactive_accounts() -> dict:
    return jobs.purge_inactive_accounts().as_dict()


@shared_task(name="accounts.tasks.remind_password_expiry")
def remind_password_expiry() -> dict:
    return jobs.remind_password_expiry().as_dict()


@shared_task(name="accounts.tasks.purge_expired_sessions")
def purge_expired_sessions() -> dict:
    return jobs.purge_expired_sessions().as_dict()


@shared_task(name="accounts.tasks.purge_expired_invitations")
def purge_expired_invitations() -> dict:
    return jobs.purge_expired_invitations().as_dict()


@shared_task(name="accounts.tasks.request_habilitation_reviews")
def request_habilitation_reviews() -> dict:
    return jobs.request_habilitation_reviews().as_dict()


@shared_task(name="accounts.tasks.warn_dormant_accounts")
def warn_dormant_accounts() -> dict:
    return jobs.warn_dormant_accounts().as_dict()


@shared_task(name="accounts.tasks.inactivate_dormant_accounts")
def inactivate_dormant_accounts() -> dict:
    return jobs.inactivate_dormant_accounts().as_dict()


@shared_task(name="accounts.tasks.send_password_reset")
def send_password_reset(sent_email_id: int) -> None:
    """The reset link is made here, at send time: it is neither stored nor carried by the broker.

    Django's token is single-use (it depends on the password) and expires after
    PASSWORD_RESET_TIMEOUT.
    """
    send_claimed(sent_email_id, password_reset_context)


def password_reset_context(sent: SentEmail) -> dict:
    account = User.objects.get(pk=sent.account_id)
    uid = urlsafe_base64_encode(force_bytes(account.pk))
    token = default_token_generator.make_token(account)
    return {
        "prenom_nom": account.get_full_name(),
        "identifiant": account.identifiant,
        "link": settings.SITE_URL + reverse("accounts:password_reset_confirm", args=[uid, token]),
        "timeout_hours": settings.INVITATION_TIMEOUT_HOURS,
    }
