import datetime
import zoneinfo

import pytest
from django.contrib.sessions.models import Session

from accounts.models import AccountEvent, HabilitationReviewRequest, Invitation, User
from audit.models import AccessLogEntry
from conventions.models import Convention
from demandes.models import Demande, PieceJointe
from inscriptions.models import MessageContact, PreInscription
from notifications.models import SentEmail
from organismes.models import StructureEvent

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def paris(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=PARIS)


def snapshot() -> dict:
    """Everything the jobs may change, to compare two moments."""
    return {
        "accounts": list(
            User.objects.order_by("pk").values_list(
                "pk",
                "is_active",
                "inactivated_at",
                "expiry_reminder_sent_for",
                "dormant_warning_sent_at",
            )
        ),
        "invitations": list(Invitation.objects.order_by("pk").values_list("pk", "revoked_at")),
        "account_events": list(AccountEvent.objects.order_by("pk").values_list("pk", "kind")),
        "structure_events": list(
            StructureEvent.objects.order_by("pk").values_list("pk", "kind", "details")
        ),
        "conventions": list(
            Convention.objects.order_by("pk").values_list(
                "pk", "end_processed_at", "end_warning_sent_for"
            )
        ),
        "sent_emails": list(SentEmail.objects.order_by("pk").values_list("pk", "template")),
        "preinscriptions": list(
            PreInscription.objects.order_by("pk").values_list("pk", "statut", "gestionnaire_id")
        ),
        "messages_contact": list(MessageContact.objects.order_by("pk").values_list("pk")),
        "sessions": list(Session.objects.order_by("pk").values_list("pk", "expire_date")),
        "habilitation_review_requests": list(
            HabilitationReviewRequest.objects.order_by("pk").values_list("pk", "structure_id")
        ),
        "access_log": list(AccessLogEntry.objects.order_by("pk").values_list("pk", "user_id")),
        "demandes": list(Demande.objects.order_by("pk").values_list("pk", "nom", "anonymisee_le")),
        "pieces": list(PieceJointe.objects.order_by("pk").values_list("pk", "nom")),
    }


@pytest.fixture
def now(time_machine):
    """Travel to a fixed moment (the clock stands still); returns a function to travel on."""

    def travel(*args) -> datetime.datetime:
        moment = paris(*args)
        time_machine.move_to(moment, tick=False)
        return moment

    return travel
