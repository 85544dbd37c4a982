from django.contrib import admin

from accounts.admin import AccountLogAdmin

from .models import SentEmail


@admin.register(SentEmail)
class SentEmailAdmin(AccountLogAdmin):
    list_display = ("created_at", "recipient", "template", "subject", "status", "attempts")
    list_filter = ("status", "template")
    search_fields = ("recipient", "subject")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in SentEmail._meta.fields]
