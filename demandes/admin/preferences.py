"""« Mes notifications » (issue 18, item 1): each agent de caisse chooses, per kind of event,
whether it reaches them at once, in the daily digest, or never. Their own row only: the page
takes no identifier, so nobody reaches another agent's choices."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from ..models import FundEvent, NotificationPreferences


class NotificationPreferencesForm(forms.ModelForm):
    class Meta:
        model = NotificationPreferences
        fields = [kind for kind in FundEvent.Kind.values]
        widgets = {kind: forms.RadioSelect for kind in FundEvent.Kind.values}


class NotificationPreferencesAdminMixin:
    def notifications_view(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not (user.is_agent and user.organisme_id):
            raise PermissionDenied
        preferences = NotificationPreferences.objects.filter(agent=user).first()
        form = NotificationPreferencesForm(
            request.POST if request.method == "POST" else None,
            instance=preferences or NotificationPreferences(agent=user),
        )
        if form.is_bound and form.is_valid():
            form.save()
            self.message_user(
                request, _("Vos préférences de notification sont enregistrées."), messages.SUCCESS
            )
            return redirect(reverse("admin:demandes_demande_notifications"))
        return TemplateResponse(
            request,
            "admin/demandes/notifications.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Mes notifications"),
                "opts": self.opts,
                "form": form,
            },
        )
