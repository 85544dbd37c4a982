from django.contrib import admin

from accounts.models import PARTNER_ROLES
from organismes.scoping import OrganismeScopedAdminMixin, structures_in_scope

from .models import SentEmail


@admin.register(SentEmail)
class SentEmailAdmin(OrganismeScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "recipient", "template", "subject", "status", "attempts")
    list_filter = ("status", "template")
    search_fields = ("recipient", "subject")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in SentEmail._meta.fields]

    def scope(self, request, queryset):
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            account__role__in=PARTNER_ROLES,
            account__structure__in=structures_in_scope(request.user),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
