"""What the monitoring reads about the outbox: how many e-mails wait, and since when."""

from dataclasses import dataclass

from django.db.models import Count, Min
from django.utils import timezone

from .models import SentEmail


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    # Age of the oldest pending e-mail, in whole seconds; 0 when none waits.
    oldest_seconds: int

    def __str__(self) -> str:
        return f"pending={self.pending} oldest_seconds={self.oldest_seconds}"


def outbox_status() -> OutboxStatus:
    """The e-mails written and not sent yet, claimed by a worker or not (one query): a growing
    age means nothing sends them."""
    waiting = SentEmail.objects.filter(
        status__in=[SentEmail.Status.PENDING, SentEmail.Status.SENDING]
    ).aggregate(count=Count("pk"), oldest=Min("created_at"))
    if waiting["oldest"] is None:
        return OutboxStatus(pending=0, oldest_seconds=0)
    age = timezone.now() - waiting["oldest"]
    return OutboxStatus(pending=waiting["count"], oldest_seconds=max(int(age.total_seconds()), 0))
