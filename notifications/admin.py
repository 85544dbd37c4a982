from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import SentEmail


class SentEmailAdmin(admin.ModelAdmin):
    """The e-mail log, read only, and the resending of failed e-mails. An agent sees the e-mails
    of their partners' accounts: accounts.admin registers this class with that scope
    (notifications knows no accounts)."""

    list_display = ("created_at", "recipient", "template", "subject", "status", "attempts", "error")
    list_filter = ("status", "template")
    search_fields = ("recipient", "subject")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in SentEmail._meta.fields if field.name != "context"]
    exclude = ("context",)  # what the templates need, names included: not for the log's readers
    actions = ("renvoyer",)

    @admin.action(description=_("Renvoyer les e-mails en échec sélectionnés"))
    def renvoyer(self, request, queryset):
        resent = sum(services.resend(sent) for sent in queryset)
        skipped = queryset.count() - resent
        if resent:
            self.message_user(
                request,
                ngettext(
                    "%(count)d e-mail est renvoyé.", "%(count)d e-mails sont renvoyés.", resent
                )
                % {"count": resent},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d e-mail n'était pas en échec : il n'est pas renvoyé.",
                    "%(count)d e-mails n'étaient pas en échec : ils ne sont pas renvoyés.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
