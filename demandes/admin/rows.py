"""The rows of the agents' list of demandes, rendered once per page (issue 20, item 3).

Django's admin renders each cell on its own: a lookup of the column, its method, a
`format_html` (with lazy strings translated each time), the empty value, a `format_html` of
the `<td>`, a `reverse()` and the preserved filters for the link, a checkbox widget rendered
through the form renderer. For 50 rows of 11 columns that was most of the page's 35 ms of
processor. Here what is the same for every row (translations, labels of statuses, offers and
urgencies, the link's address around the demande's id, the checkbox around its id and
reference, the date formats) is prepared once per page, and each row is one string, written
from the 24 values it shows (ListRow, read by DemandeChangeList), not from model instances.

The HTML is Django's, character for character: tests/demandes/test_admin_rows.py renders the
same page both ways on every kind of row (Django's way from the page's demandes). The column
methods of DemandeAdmin stay the reference (and give the headers); a list that is not the
standard one (a popup, another set of columns) falls back to Django's rendering.
"""

import datetime
import html
from typing import NamedTuple

from django.contrib.admin.templatetags.admin_list import ResultList, admin_list_filter, results
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import ChangeList
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.utils.formats import date_format, get_format
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.workdays import working_days_between

from ..catalogue import URGENCES, motif_label
from ..models import Demande, Statut

COLUMNS = (
    "reference",
    "urgence",
    "offre_display",
    "structure_display",
    "assure",
    "envoyee_le",
    "age",
    "statut_display",
    "attribution",
    "non_lus",
)
# Stand-ins for the demande's id and reference in what is prepared once (letters and digits:
# escaping leaves them as they are).
PK = "0000000000pk9f3c"
REFERENCE = "0000000000ref9f3c"


class ListRow(NamedTuple):
    """What a row of the list shows, and nothing else: read with `values_list` (READ, in the same
    order) instead of building a demande, its offer, structure, organisme and agent for each row.
    Those five instances per row, and the compilation of their 84 columns, cost 1.6 ms of the
    page's processor (issue 20, item 3)."""

    pk: int
    reference: str
    urgent: bool
    categorie_urgence: str
    offre_id: int
    offre: str  # str(demande.offre), its libellé
    offre_code: str
    motif: str
    structure: str  # the structure's nom
    nom: str
    prenom: str
    anonymisee_le: datetime.datetime | None
    created_at: datetime.datetime
    closed_at: datetime.datetime | None
    statut: str
    assigned_to_id: int | None
    agent_prenom: str | None
    agent_nom_usuel: str | None
    agent_nom_patronymique: str | None
    non_lus: int
    delai_offre_urgent: int | None  # DemandeQuerySet.with_offer_delays
    delai_offre: int | None
    organisme_delai_urgent: int
    organisme_delai: int

    @property
    def delai_cible_jours(self) -> int:
        """Demande.delai_cible_jours: the offer's own delay if the organisme set one."""
        own = self.delai_offre_urgent if self.urgent else self.delai_offre
        if own is not None:
            return own
        return self.organisme_delai_urgent if self.urgent else self.organisme_delai


READ = (
    "pk",
    "reference",
    "urgent",
    "categorie_urgence",
    "offre_id",
    "offre__libelle",
    "offre__code",
    "motif",
    "structure__nom",
    "nom",
    "prenom",
    "anonymisee_le",
    "created_at",
    "closed_at",
    "statut",
    "assigned_to_id",
    "assigned_to__prenom",
    "assigned_to__nom_usuel",
    "assigned_to__nom_patronymique",
    "non_lus",
    "delai_offre_urgent",
    "delai_offre",
    "organisme__delai_cible_urgent_jours",
    "organisme__delai_cible_jours",
)


class DemandeChangeList(ChangeList):
    """Django's ChangeList: the same filters, search, order, count and page. On the standard
    list (is_standard) the page's rows are ListRows; `page_queryset` is the page as Django would
    read it, for whoever needs the demandes themselves (the comparison with Django's rendering
    in tests/demandes/test_admin_rows.py)."""

    def get_results(self, request):
        super().get_results(request)
        self.page_queryset = self.result_list
        if is_standard(self):
            self.result_list = [
                ListRow._make(values) for values in self.result_list.values_list(*READ)
            ]


def esc(text: str) -> str:
    """django.utils.html.escape's result (the same five characters), without its lazy-string
    wrapper, which cost more than the escaping in a loop of 50 rows × 11 cells."""
    return html.escape(text, quote=True)


def cut(text: str, title: str | None = None) -> str:
    """demandes.admin.changelist.cut, from text already escaped."""
    return f'<span class="cell-cut" title="{text if title is None else title}">{text}</span>'


class Rows:
    """What every row of this page shares, then each row as one string."""

    def __init__(self, cl):
        self.cl = cl
        self.has_checkbox = cl.list_display[0] == "action_checkbox"
        self.empty = conditional_escape(cl.model_admin.get_empty_value_display())
        self.today = timezone.localdate()
        url = add_preserved_filters(
            {"preserved_filters": cl.preserved_filters, "opts": cl.opts},
            cl.url_for_result(Demande(pk=PK)),
        )
        self.link = esc(url).split(PK)
        if self.has_checkbox:
            checkbox = str(cl.model_admin.action_checkbox(Demande(pk=PK, reference=REFERENCE)))
            self.checkbox = [part.split(PK) for part in checkbox.split(REFERENCE)]
        self.urgent = esc(_("Urgent"))
        self.categories = {code: esc(str(label)) for code, label in URGENCES}
        self.statuts = {value: cut(esc(str(label))) for value, label in Statut.choices}
        self.days = _("%(days)s j")
        self.retard = esc(_("en retard"))
        self.non_attribuee = esc(_("non attribuée").strip()) or self.empty
        self.anonymised = _("Données anonymisées le %(date)s")
        self.offres: dict[tuple[int, str], str] = {}
        self.dates: dict[datetime.date, tuple[str, str]] = {}
        self.fast_datetime = get_format("DATETIME_FORMAT") == "j F Y H:i"

    # --- The cells, as DemandeAdmin's methods and Django's items_for_result make them -------

    def row(self, row: ListRow) -> SafeString:
        pk = str(row.pk)
        created = timezone.localtime(row.created_at)
        if self.has_checkbox:
            checkbox = esc(row.reference).join(pk.join(part) for part in self.checkbox)
            cells = f'<td class="action-checkbox">{checkbox}</td>'
        else:
            cells = ""
        reference = esc(row.reference) if row.reference else self.empty
        return mark_safe(  # noqa: S308 (every value escaped here)
            f"{cells}"
            f'<th class="field-reference"><a href="{pk.join(self.link)}">{reference}</a></th>'
            f'<td class="field-urgence">{self.urgence(row)}</td>'
            f'<td class="field-offre_display">{self.offre(row)}</td>'
            f'<td class="field-structure_display">{cut(esc(row.structure))}</td>'
            f'<td class="field-assure">{self.assure(row)}</td>'
            f'<td class="field-envoyee_le">{self.envoyee_le(created)}</td>'
            f'<td class="field-age">{self.age(row, created)}</td>'
            f'<td class="field-statut_display">{self.statut_display(row.statut)}</td>'
            f'<td class="field-attribution">{self.attribution(row)}</td>'
            f'<td class="field-non_lus">{self.non_lus(row)}</td>'
        )

    def statut_display(self, statut: str) -> str:
        return self.statuts.get(statut) or cut(esc(statut))

    def urgence(self, row: ListRow) -> str:
        if not row.urgent:
            return self.empty
        categorie = self.categories.get(row.categorie_urgence)
        if categorie is None:
            categorie = esc(row.categorie_urgence)
        return (
            f'<span class="badge-urgent" title="{categorie}">{self.urgent}'
            f'<span class="visually-hidden"> : {categorie}</span></span>'
        )

    def offre(self, row: ListRow) -> str:
        key = (row.offre_id, row.motif)
        if key not in self.offres:
            label = motif_label(row.offre_code, row.motif)
            self.offres[key] = cut(esc(row.offre), esc(f"{row.offre} — {label}"))
        return self.offres[key]

    def assure(self, row: ListRow) -> str:
        if row.anonymisee_le is not None:
            at = timezone.localtime(row.anonymisee_le)
            return cut(esc(self.anonymised % {"date": date_format(at, "j F Y")}))
        return cut(esc(f"{row.nom} {row.prenom}"))

    def envoyee_le(self, at: datetime.datetime) -> str:
        day = at.date()
        if day not in self.dates:
            self.dates[day] = (
                esc(date_format(day, "j F Y")),
                esc(date_format(day, "SHORT_DATE_FORMAT")),
            )
        long_day, short = self.dates[day]
        if self.fast_datetime:
            title = f"{long_day} {at:%H:%M}"
        else:
            title = esc(date_format(at, "DATETIME_FORMAT"))
        return f'<time datetime="{esc(at.isoformat())}" title="{title}">{short}</time>'

    def age(self, row: ListRow, created: datetime.datetime) -> str:
        end = timezone.localdate(row.closed_at) if row.closed_at else self.today
        age = working_days_between(created.date(), end)
        days = esc(self.days % {"days": age})
        if row.statut == Statut.CLOTUREE or age <= row.delai_cible_jours:
            return days.strip() or self.empty
        return f'{days} <span class="badge badge-retard">{self.retard}</span>'

    def attribution(self, row: ListRow) -> str:
        if row.assigned_to_id is None:
            return self.non_attribuee
        # User.get_full_name: the prénom and the nom (usuel, else patronymique).
        nom = row.agent_nom_usuel or row.agent_nom_patronymique
        return cut(esc(f"{row.agent_prenom} {nom}"))

    def non_lus(self, row: ListRow) -> str:
        if not row.non_lus:
            return self.empty
        label = ngettext("%(count)d non lu", "%(count)d non lus", row.non_lus) % {
            "count": row.non_lus
        }
        return f'<span class="badge badge-non-lu">{esc(label)}</span>'


def is_standard(cl) -> bool:
    """The list as DemandeAdmin shows it to an agent: these columns, a link on the reference,
    no popup, no editable cells. Anything else is left to Django."""
    columns = tuple(column for column in cl.list_display if column != "action_checkbox")
    return (
        columns == COLUMNS
        and list(cl.list_display)[: len(cl.list_display) - len(COLUMNS)]
        in ([], ["action_checkbox"])
        and list(cl.list_display_links or ()) == ["reference"]
        and not cl.list_editable
        and not cl.formset
        and not cl.is_popup
        and not cl.to_field
    )


def page_results(cl) -> list[ResultList]:
    """The rows of the page, for admin/change_list_results.html (each row one item)."""
    if not is_standard(cl):
        return list(results(cl))
    rows = Rows(cl)
    return [ResultList(None, [rows.row(row)]) for row in cl.result_list]


# --- The filters beside the list -------------------------------------------------------------

STANDARD_FILTER = "admin/filter.html"


def filter_html(spec, cl) -> str:
    """One filter as Django's admin/filter.html writes it, character for character (a filter
    with a template of its own is rendered by it): Django renders that template once per filter,
    a Context and a loop of nodes for each of their few choices; here each is one string."""
    title = conditional_escape(spec.title)
    summary = _(" By %(filter_title)s ") % {"filter_title": title}
    items = []
    for choice in spec.choices(cl):
        selected = ' class="selected"' if choice["selected"] else ""
        href = esc(iri_to_uri(choice["query_string"]))
        display = conditional_escape(choice["display"])
        items.append(f'\n    <li{selected}>\n    <a href="{href}">{display}</a></li>\n  ')
    items = "".join(items)
    return (
        f'\n<details data-filter-title="{title}" open>\n  <summary>\n    {summary}\n'
        f"  </summary>\n  <ul>\n  {items}\n  </ul>\n</details>\n"
    )


def filters_html(cl) -> SafeString:
    """The list's filters, in their order: {% for spec in cl.filter_specs %}{% admin_list_filter
    cl spec %}{% endfor %}."""
    parts = []
    for spec in cl.filter_specs:
        if spec.template == STANDARD_FILTER:
            parts.append(filter_html(spec, cl))
        else:
            parts.append(admin_list_filter(cl, spec))
    return mark_safe("".join(parts))  # noqa: S308 (every value escaped above or by its template)
