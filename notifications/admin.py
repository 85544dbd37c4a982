from django.contrib import admin

from .models import SentEmail


class SentEmailAdmin(admin.ModelAdmin):
    """The e-mail log, read only. An agent sees the e-mails of their partners' accounts:
    accounts.admin registers this class with that scope (notifications knows no accounts)."""

    list_display = ("created_at", "recipient", "template", "subject", "status", "attempts")
    list_filter = ("status", "template")
    search_fields = ("recipient", "subject")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in SentEmail._meta.fields]
