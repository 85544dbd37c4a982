"""The rows of the agents' list of demandes, rendered once per page (issue 20, item 3).

Django's admin renders each cell on its own: a lookup of the column, its method, a
`format_html` (with lazy strings translated each time), the empty value, a `format_html` of
the `<td>`, a `reverse()` and the preserved filters for the link, a checkbox widget rendered
through the form renderer. For 50 rows of 11 columns that was most of the page's 35 ms of
processor. Here what is the same for every row (translations, labels of statuses, offers and
urgencies, the link's address around the demande's id, the checkbox around its id and
reference, the date formats) is prepared once per page, and each row is one string.

The HTML is Django's, character for character: tests/demandes/test_admin_rows.py renders the
same page both ways on every kind of row. The column methods of DemandeAdmin stay the reference
(and give the headers); a list that is not the standard one (a popup, another set of columns)
falls back to Django's rendering.
"""

import datetime
import html

from django.contrib.admin.templatetags.admin_list import ResultList, admin_list_filter, results
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
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

    def row(self, demande: Demande) -> SafeString:
        pk = str(demande.pk)
        created = timezone.localtime(demande.created_at)
        if self.has_checkbox:
            checkbox = esc(str(demande)).join(pk.join(part) for part in self.checkbox)
            cells = f'<td class="action-checkbox">{checkbox}</td>'
        else:
            cells = ""
        reference = esc(demande.reference) if demande.reference else self.empty
        return mark_safe(  # noqa: S308 (every value escaped here)
            f"{cells}"
            f'<th class="field-reference"><a href="{pk.join(self.link)}">{reference}</a></th>'
            f'<td class="field-urgence">{self.urgence(demande)}</td>'
            f'<td class="field-offre_display">{self.offre(demande)}</td>'
            f'<td class="field-structure_display">{cut(esc(demande.structure.nom))}</td>'
            f'<td class="field-assure">{self.assure(demande)}</td>'
            f'<td class="field-envoyee_le">{self.envoyee_le(created)}</td>'
            f'<td class="field-age">{self.age(demande, created)}</td>'
            f'<td class="field-statut_display">{self.statut_display(demande.statut)}</td>'
            f'<td class="field-attribution">{self.attribution(demande)}</td>'
            f'<td class="field-non_lus">{self.non_lus(demande)}</td>'
        )

    def statut_display(self, statut: str) -> str:
        return self.statuts.get(statut) or cut(esc(statut))

    def urgence(self, demande: Demande) -> str:
        if not demande.urgent:
            return self.empty
        categorie = self.categories.get(demande.categorie_urgence)
        if categorie is None:
            categorie = esc(demande.categorie_urgence)
        return (
            f'<span class="badge-urgent" title="{categorie}">{self.urgent}'
            f'<span class="visually-hidden"> : {categorie}</span></span>'
        )

    def offre(self, demande: Demande) -> str:
        key = (demande.offre_id, demande.motif)
        if key not in self.offres:
            offre = str(demande.offre)
            label = motif_label(demande.offre.code, demande.motif)
            self.offres[key] = cut(esc(offre), esc(f"{offre} — {label}"))
        return self.offres[key]

    def assure(self, demande: Demande) -> str:
        if demande.anonymisee_le is not None:
            at = timezone.localtime(demande.anonymisee_le)
            return cut(esc(self.anonymised % {"date": date_format(at, "j F Y")}))
        return cut(esc(f"{demande.nom} {demande.prenom}"))

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

    def age(self, demande: Demande, created: datetime.datetime) -> str:
        end = timezone.localdate(demande.closed_at) if demande.closed_at else self.today
        age = working_days_between(created.date(), end)
        days = esc(self.days % {"days": age})
        if demande.statut == Statut.CLOTUREE or age <= demande.delai_cible_jours:
            return days.strip() or self.empty
        return f'{days} <span class="badge badge-retard">{self.retard}</span>'

    def attribution(self, demande: Demande) -> str:
        if demande.assigned_to is None:
            return self.non_attribuee
        return cut(esc(demande.assigned_to.get_full_name()))

    def non_lus(self, demande: Demande) -> str:
        count = getattr(demande, "non_lus", 0)
        if not count:
            return self.empty
        label = ngettext("%(count)d non lu", "%(count)d non lus", count) % {"count": count}
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
        and not cl.formset
        and not cl.is_popup
        and not cl.to_field
    )


def page_results(cl) -> list[ResultList]:
    """The rows of the page, for admin/change_list_results.html (each row one item)."""
    if not is_standard(cl):
        return list(results(cl))
    rows = Rows(cl)
    return [ResultList(None, [rows.row(demande)]) for demande in cl.result_list]


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
