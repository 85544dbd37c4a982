"""The indicators of a convention in the admin (SPEC §7): the period rule and its form, the
page, and its CSV export. The figures themselves are computed by demandes.indicators.

The conventions offered are those of the agent's organisme; another organisme's convention in
the URL is a 404, not a form error.
"""

import datetime

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from audit.services import Action, ObjectType, record_access
from conventions.models import Convention
from conventions.scoping import conventions_in_scope
from core.formfields import ModelChoiceField
from core.months import months_before

from .. import indicators
from ..models import Demande

# The longest period of the indicators: a yearly review, or a whole convention of a few years.
INDICATEURS_MAX_MONTHS = 36


class IndicateursForm(forms.Form):
    convention = ModelChoiceField(queryset=Convention.objects.none(), label=_lazy("Convention"))
    du = forms.DateField(
        label=_lazy("Du"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    au = forms.DateField(
        label=_lazy("Au"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, conventions: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["convention"]
        field.queryset = conventions.select_related("structure").order_by(
            "structure__nom", "-date_debut", "pk"
        )
        field.label_from_instance = lambda c: f"{c.reference} — {c.structure.nom}"

    def clean(self):
        cleaned_data = super().clean()
        du, au = cleaned_data.get("du"), cleaned_data.get("au")
        if du and au:
            if du > au:
                raise forms.ValidationError(_("La date de début doit précéder la date de fin."))
            # Months to the day: 15 January to 14 January three years later is 36 months.
            if au >= months_before(du, -INDICATEURS_MAX_MONTHS):
                raise forms.ValidationError(
                    _("La période ne peut pas dépasser %(count)d mois.")
                    % {"count": INDICATEURS_MAX_MONTHS}
                )
        return cleaned_data


def default_period(convention: Convention) -> tuple[datetime.date, datetime.date]:
    """The last year of the convention, up to today: what a yearly review looks at."""
    today = timezone.localdate()
    au = min(convention.date_fin or today, today)
    try:
        year_before = au.replace(year=au.year - 1)
    except ValueError:  # 29 February
        year_before = au.replace(year=au.year - 1, day=28)
    du = max(convention.date_debut, year_before + datetime.timedelta(days=1))
    return min(du, au), au


class IndicatorsAdminMixin:
    """DemandeAdmin's indicators page (registered in DemandeAdmin.get_urls) and its export."""

    def indicateurs_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        conventions = conventions_in_scope(request.user)
        form = IndicateursForm(conventions=conventions)
        resultats = None
        convention_id = request.GET.get("convention", "")
        if convention_id:
            # Another organisme's convention does not exist here: a 404, not a form error.
            if not (convention_id.isascii() and convention_id.isdigit()):
                raise Http404
            convention = get_object_or_404(
                conventions.select_related("structure", "organisme"), pk=convention_id
            )
            du, au = default_period(convention)
            data = {"convention": convention.pk, "du": du.isoformat(), "au": au.isoformat()}
            data.update((key, request.GET[key]) for key in ("du", "au") if request.GET.get(key))
            form = IndicateursForm(data, conventions=conventions)
            if form.is_valid():
                du, au = form.cleaned_data["du"], form.cleaned_data["au"]
                resultats = indicators.compute(convention, du, au)
                if request.GET.get("format") == "csv":
                    record_access(
                        request,
                        Action.EXPORT_INDICATORS,
                        object_type=ObjectType.CONVENTION,
                        object_id=convention.pk,
                        reference=convention.reference,
                    )
                    return self.indicateurs_csv(resultats)
        elif request.GET:
            form = IndicateursForm(request.GET, conventions=conventions)  # says what is missing
        csv_url = ""
        if resultats is not None:
            query = {
                "convention": resultats.convention.pk,
                "du": resultats.du.isoformat(),
                "au": resultats.au.isoformat(),
                "format": "csv",
            }
            csv_url = f"{request.path}?{urlencode(query)}"
        return TemplateResponse(
            request,
            "admin/demandes/demande/indicateurs.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Indicateurs d'une convention"),
                "opts": self.opts,
                "form": form,
                "resultats": resultats,
                "csv_url": csv_url,
                # The retention job's backlog (SPEC §10): closed demandes past their
                # organisme's delay, not anonymised yet (the job has not run, or failed).
                "a_anonymiser": Demande.objects.visible_to(request.user)
                .due_for_anonymisation(timezone.now())
                .count(),
            },
        )

    def indicateurs_csv(self, resultats: indicators.Indicateurs) -> HttpResponse:
        convention = resultats.convention
        filename = (
            f"indicateurs-{slugify(convention.reference)}-{resultats.du:%Y%m%d}-"
            f"{resultats.au:%Y%m%d}.csv"
        )
        response = HttpResponse(
            indicators.to_csv(resultats), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
