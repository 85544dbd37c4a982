from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SentEmail(models.Model):
    """One e-mail of the outbox: written in the transaction that causes it, with all it takes to
    send it (template, recipient, context without secret, the task that sends it), then sent at
    least once and at most once per row, whatever fails (docs/reliability.md).

    Neither the body nor the links are kept: they may hold a secret (an invitation link), which the
    sending task makes at send time. The context is dropped once the e-mail is sent.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("en attente")
        SENDING = "sending", _("en cours d'envoi")  # claimed by a worker, until next_attempt_at
        SENT = "sent", _("envoyé")
        FAILED = "failed", _("échec")
        CANCELLED = "cancelled", _("annulé")  # superseded before it could go (a newer link)

    template = models.CharField(_("modèle"), max_length=100)
    recipient = models.EmailField(_("destinataire"))
    # For a message relayed from the contact page: the answer goes to whoever wrote it.
    reply_to = models.EmailField(_("répondre à"), blank=True)
    subject = models.CharField(_("objet"), max_length=200, blank=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sent_emails",
        verbose_name=_("compte concerné"),
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # The Celery task that sends it, called with the row's id, and what it needs (no secret).
    task = models.CharField(
        _("tâche d'envoi"), max_length=100, default="notifications.tasks.send_email"
    )
    context = models.JSONField(_("contexte"), default=dict, blank=True)
    # Pending: when the sweeper may publish it again; sending: when the worker's claim lapses.
    next_attempt_at = models.DateTimeField(_("prochaine tentative"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    error = models.TextField(_("erreur"), blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    # The id of the request (or task) that wrote the row: the sweeper's later publishes carry it,
    # so that the sending task's log lines are found with the request's (core/logs.py).
    request_id = models.CharField(_("requête d'origine"), max_length=64, blank=True, editable=False)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail envoyé")
        verbose_name_plural = _("e-mails envoyés")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["created_at"]),
            # The sweeper's question, every minute: which e-mails are due?
            models.Index(
                fields=["next_attempt_at"],
                name="sentemail_due_idx",
                condition=Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient}"
