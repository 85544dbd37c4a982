"""Admin actions that need a reason (suspension, reactivation) or a confirmation (reset of the
second factor): an intermediate page asks it, and the action is carried out by its POST."""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .nir import validate_no_nir


class ReasonForm(forms.Form):
    motif = forms.CharField(
        label=_("Motif"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        validators=[validate_no_nir],
    )


def ask_reason(model_admin, request, queryset, **page):
    """The reason typed on the intermediate page, or the page itself (a TemplateResponse).

    `page`: action (its name), intro and submit_label."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        return form.cleaned_data["motif"]
    return intermediate_page(model_admin, request, queryset, form=form, **page)


def ask_confirmation(model_admin, request, queryset, **page):
    """None once confirmed (the intermediate page's POST), else that page."""
    if "apply" in request.POST:
        return None
    return intermediate_page(model_admin, request, queryset, form=None, **page)


def intermediate_page(model_admin, request, queryset, *, action, intro, submit_label, form):
    return TemplateResponse(
        request,
        "admin/reason_action.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": submit_label,
            "intro": intro,
            "submit_label": submit_label,
            "objects": queryset,
            "form": form,
            "action": action,
            "opts": model_admin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )
