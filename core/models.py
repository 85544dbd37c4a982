from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class HistoryEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("L'historique des modifications ne se modifie pas.")

    def for_object(self, obj: models.Model) -> "HistoryEntryQuerySet":
        """The lines of `obj`, whichever proxy it is seen through (a partner's account is one
        object, in PartnerAccount's admin or in the model's)."""
        content_type = ContentType.objects.get_for_model(obj, for_concrete_model=True)
        return self.filter(content_type=content_type, object_id=str(obj.pk))


class HistoryEntry(models.Model):
    """One change a person (or a job) made to an object: who, when, and each field before →
    after, already written out in French (SPEC §10). Append-only; only the purge of accounts
    rewrites the lines of the accounts it deletes (core.history.forget_objects)."""

    class Action(models.TextChoices):
        ADDITION = "addition", _("création")
        CHANGE = "change", _("modification")
        DELETION = "deletion", _("suppression")

    at = models.DateTimeField(_("date"), default=timezone.now)
    # SET_NULL, not the CASCADE of Django's LogEntry: the purge of an account must not take
    # away the lines of what it did; they read "compte supprimé" (by_role says which kind).
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    by_role = models.CharField(_("rôle de l'auteur"), max_length=40, blank=True)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", verbose_name=_("type d'objet")
    )
    object_id = models.CharField(_("identifiant de l'objet"), max_length=64)
    object_repr = models.CharField(_("objet"), max_length=200)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    summary = models.CharField(_("résumé"), max_length=200, blank=True)
    # [{"field": name, "label": verbose name, "before": text, "after": text}], in French.
    changes = models.JSONField(_("changements"), default=list, blank=True)
    reason = models.TextField(_("motif"), blank=True)

    objects = HistoryEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("modification")
        verbose_name_plural = _("historique des modifications")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-at"]),
            models.Index(fields=["by", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} — {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("L'historique des modifications ne se modifie pas.")
        super().save(*args, **kwargs)
