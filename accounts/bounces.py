"""Addresses the e-mail provider reports as undeliverable (SPEC §6, e-mails).

django-anymail receives the provider's tracking webhook at /anymail/<esp>/tracking/ (protected by
ANYMAIL["WEBHOOK_SECRET"], HTTP basic auth), normalises it and sends the `tracking` signal. A
bounce, a rejection or a spam complaint marks every account using that address, so that the
gestionnaire (list of techniciens) and the fund's agents (admin) see that it must be corrected.
Changing the account's e-mail clears the mark (accounts.services.modify_account).
"""

import logging

from anymail.signals import AnymailTrackingEvent, EventType
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import User

logger = logging.getLogger(__name__)

# The events after which the address is no longer worth writing to.
INVALIDATING_EVENTS = frozenset({EventType.BOUNCED, EventType.REJECTED, EventType.COMPLAINED})
# How people read User.email_invalide_motif.
MOTIF_LABELS = {
    EventType.BOUNCED: _("message non distribué"),
    EventType.REJECTED: _("envoi refusé par le fournisseur"),
    EventType.COMPLAINED: _("signalé comme indésirable"),
}


def motif_label(motif: str) -> str:
    return str(MOTIF_LABELS.get(motif, motif))


def mark_invalid_email(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> int:
    """Receiver of anymail.signals.tracking; returns the number of accounts marked."""
    if event.event_type not in INVALIDATING_EVENTS or not event.recipient:
        return 0
    email = event.recipient.strip().lower()
    marked = User.objects.filter(email=email).update(
        email_invalid_at=timezone.now(), email_invalide_motif=event.event_type
    )
    logger.info(
        "%s: %s event for an address used by %d account(s)", esp_name, event.event_type, marked
    )
    return marked
