"""Indicators for the yearly review of a convention (SPEC §7): demandes by offer and by month,
urgent ones by category, time to close — and their CSV export.

One population for every figure: the convention's demandes sent during the period (du and au
included, in French time). The time to close is measured on those of them already closed.
A fixed number of queries, whatever the number of demandes: aggregations, and for the median
the one or two middle times to close, read by the database sorting them (no list of every
closed demande comes back to Python).
"""

import datetime
import io
import statistics
from dataclasses import dataclass

from django.db.models import Count, DateField, F, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from conventions.models import Convention, Offre
from core.spreadsheets import SpreadsheetWriter

from . import catalogue
from .models import Demande, Statut


@dataclass(frozen=True)
class LigneOffre:
    offre: str
    par_mois: tuple[int, ...]
    total: int


@dataclass(frozen=True)
class LigneUrgence:
    categorie: str
    nombre: int


@dataclass(frozen=True)
class Indicateurs:
    convention: Convention
    du: datetime.date
    au: datetime.date
    mois: tuple[datetime.date, ...]  # the first day of each month of the period
    par_offre: tuple[LigneOffre, ...]
    total_par_mois: tuple[int, ...]
    total: int
    urgentes: tuple[LigneUrgence, ...]
    total_urgentes: int
    cloturees: int
    delai_median_jours: float | None


def months_between(du: datetime.date, au: datetime.date) -> tuple[datetime.date, ...]:
    """The first day of each month from du's month to au's month, both included."""
    months = []
    month = du.replace(day=1)
    while month <= au:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return tuple(months)


def demandes_of_period(convention: Convention, du: datetime.date, au: datetime.date) -> QuerySet:
    """The convention's demandes sent from du to au included, days counted in French time."""
    start = timezone.make_aware(datetime.datetime.combine(du, datetime.time.min))
    end = timezone.make_aware(
        datetime.datetime.combine(au + datetime.timedelta(days=1), datetime.time.min)
    )
    return Demande.objects.filter(
        convention=convention, created_at__gte=start, created_at__lt=end
    ).order_by()


def median_days(closed: QuerySet) -> tuple[int, float | None]:
    """How many demandes are closed, and their median time to close in days: two queries.

    The middle one (an odd count) or the middle two (even) in the order of their time to close;
    the same figure as statistics.median, on PostgreSQL and SQLite alike."""
    count = closed.count()
    if not count:
        return 0, None
    middle = list(
        closed.annotate(delai=F("closed_at") - F("created_at"))
        .order_by("delai")  # ties are equal durations; no pk: the index covers the rest
        .values_list("delai", flat=True)[(count - 1) // 2 : count // 2 + 1]
    )
    return count, round(statistics.mean(d.total_seconds() for d in middle) / 86400, 1)


def compute(convention: Convention, du: datetime.date, au: datetime.date) -> Indicateurs:
    """Five queries: the offers, counts by offer and month, urgent by category, then the count
    of closed ones and their middle times to close. Each reads the convention's index alone
    (demande_indicateurs_idx covers every column used): COUNT(*), not COUNT(id)."""
    demandes = demandes_of_period(convention, du, au)
    mois = months_between(du, au)
    index = {month: position for position, month in enumerate(mois)}

    # Every offer under which a demande can be made, in the catalogue's order: a year with no
    # demande of an offer shows a zero, so that two reviews compare line by line.
    offres = list(Offre.objects.filter(code__in=catalogue.MOTIFS).order_by("ordre", "pk"))
    counts = {offre.pk: [0] * len(mois) for offre in offres}
    by_offer_and_month = (
        demandes.annotate(mois=TruncMonth("created_at", output_field=DateField()))
        .values_list("offre_id", "mois")
        .annotate(nombre=Count("*"))
    )
    for offre_id, month, nombre in by_offer_and_month:
        counts[offre_id][index[month]] += nombre
    par_offre = tuple(
        LigneOffre(offre.libelle, tuple(counts[offre.pk]), sum(counts[offre.pk]))
        for offre in offres
    )
    total_par_mois = tuple(
        sum(ligne.par_mois[position] for ligne in par_offre) for position in range(len(mois))
    )

    by_category = dict(
        demandes.filter(urgent=True)
        .values("categorie_urgence")
        .annotate(nombre=Count("*"))
        .values_list("categorie_urgence", "nombre")
    )
    urgentes = tuple(
        LigneUrgence(str(label), by_category.get(code, 0)) for code, label in catalogue.URGENCES
    )

    cloturees, delai_median_jours = median_days(demandes.filter(statut=Statut.CLOTUREE))
    return Indicateurs(
        convention=convention,
        du=du,
        au=au,
        mois=mois,
        par_offre=par_offre,
        total_par_mois=total_par_mois,
        total=sum(total_par_mois),
        urgentes=urgentes,
        total_urgentes=sum(by_category.values()),
        cloturees=cloturees,
        delai_median_jours=delai_median_jours,
    )


def _decimal(value: float | None) -> str:
    # Spreadsheets set to French read "4,5", not "4.5".
    return "" if value is None else f"{value:g}".replace(".", ",")


def to_csv(indicateurs: Indicateurs) -> str:
    """The same figures as the page, for a spreadsheet: ';' separated, UTF-8 with a BOM."""
    convention = indicateurs.convention
    output = io.StringIO()
    output.write("\ufeff")  # the BOM makes spreadsheet programs read UTF-8
    writer = SpreadsheetWriter(output, lineterminator="\r\n")
    writer.writerow(
        (_("Convention"), convention.reference, convention.structure.nom, convention.organisme.nom)
    )
    writer.writerow(
        (
            _("Période"),
            date_format(indicateurs.du, "d/m/Y"),
            date_format(indicateurs.au, "d/m/Y"),
        )
    )
    writer.writerow(())
    writer.writerow(
        (_("Offre de service"), *(f"{month:%Y-%m}" for month in indicateurs.mois), _("Total"))
    )
    for ligne in indicateurs.par_offre:
        writer.writerow((ligne.offre, *ligne.par_mois, ligne.total))
    writer.writerow((_("Total"), *indicateurs.total_par_mois, indicateurs.total))
    writer.writerow(())
    writer.writerow((_("Catégorie d'urgence"), _("Demandes urgentes")))
    for ligne in indicateurs.urgentes:
        writer.writerow((ligne.categorie, ligne.nombre))
    writer.writerow((_("Total"), indicateurs.total_urgentes))
    writer.writerow(())
    writer.writerow((_("Demandes clôturées"), indicateurs.cloturees))
    writer.writerow(
        (_("Délai médian de clôture (jours)"), _decimal(indicateurs.delai_median_jours))
    )
    return output.getvalue()
