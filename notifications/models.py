from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SentEmail(models.Model):
    """One e-mail the portal sent or tried to send: who, which template, what happened.

    Neither the body nor the links are kept: they may hold a secret (an invitation link).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("en attente")
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
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    error = models.TextField(_("erreur"), blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail envoyé")
        verbose_name_plural = _("e-mails envoyés")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient}"
