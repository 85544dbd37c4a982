"""The access log (SPEC §10): who among the fund's staff read which demande, downloaded which
file, exported what, when and from where. Append-only; kept ACCESS_LOG_RETENTION_MONTHS months.

A row names no insured person: the object is its type, its id and a reference (EP-2026-000123,
a convention's reference), never a name nor a file's name (a partner may name a file after the
person). The account is kept by a foreign key and by its identifiant, written with the row, so
that an account deleted since still reads "m.pichon (compte supprimé)".
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

APPEND_ONLY = "Le journal des accès ne se modifie pas."


class AccessLogEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(APPEND_ONLY)

    # delete() stays: the retention purge (audit.jobs) deletes through a queryset, and nothing
    # else may (the admin grants no deletion, a row refuses its own).


class AccessLogEntry(models.Model):
    class Action(models.TextChoices):
        VIEW_DEMANDE = "view_demande", _("consultation d'une demande")
        DOWNLOAD_PIECE = "download_piece", _("téléchargement d'une pièce jointe")
        DOWNLOAD_DOCUMENT = "download_document", _("téléchargement d'un document de l'organisme")
        EXPORT_INDICATORS = "export_indicators", _("export des indicateurs")
        EXPORT_ACCESS_LOG = "export_access_log", _("export du journal des accès")

    class ObjectType(models.TextChoices):
        DEMANDE = "demande", _("demande")
        PIECE = "piece", _("pièce jointe")
        CONVENTION = "convention", _("convention")
        JOURNAL = "journal", _("journal des accès")

    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    # SET_NULL: the row outlives the account (deleted by an administrator), with user_label.
    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("compte"),
    )
    user_label = models.CharField(_("identifiant du compte"), max_length=40)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    object_type = models.CharField(_("objet"), max_length=20, choices=ObjectType.choices)
    object_id = models.PositiveBigIntegerField(_("identifiant de l'objet"), null=True, blank=True)
    # The demande's reference (also for its attachments), or the convention's.
    reference = models.CharField(_("référence"), max_length=30, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(_("adresse du client"), null=True, blank=True)

    objects = AccessLogEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("accès")
        verbose_name_plural = _("journal des accès")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["user", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} — {self.reference or self.get_object_type_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError(APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Le journal des accès ne perd ses lignes que par sa purge.")

    @property
    def who(self) -> str:
        """The account's identifiant; "… (compte supprimé)" once the account is gone."""
        if self.user_id is None:
            return _("%(identifiant)s (compte supprimé)") % {"identifiant": self.user_label}
        return self.user_label
