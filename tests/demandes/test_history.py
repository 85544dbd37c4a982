"""Issue 20: the partner's history read by hand-written SQL (demandes/history.py) gives exactly
what the ORM's reading gave (the view's code until then, kept here as the reference): the same
count, page number and rows in the same order, each row the same instance (values, deferred
columns, offer and author attached), in the same number of statements, on every filter, search
and page, and for every state of the reader; on SQLite and on PostgreSQL (CI)."""

import datetime
import itertools
import zoneinfo

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q, Window
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from conventions.models import Offre
from demandes.forms import DemandeFilterForm, _start_of
from demandes.history import HistoryPaginator
from demandes.models import Demande, Statut
from organismes.models import StructurePartenaire
from tests.factories import ConventionFactory, OrganismeFactory, TechnicienFactory
from tests.helpers import with_all_offres

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
REFERENCES = itertools.count(700_001)
HOUR = datetime.timedelta(hours=1)


# --- The reference: the ORM's reading, as demandes/views.py did it before issue 20 ------------


class KeysFirstPaginator(Paginator):
    """Pages through the primary keys, then reads the page's rows by those keys (one pass of keys
    and total for a search)."""

    def __init__(self, object_list, per_page, one_pass: bool = False):
        self.rows = object_list
        self.one_pass = one_pass
        super().__init__(object_list.values_list("pk", flat=True), per_page)

    def get_page(self, number):
        if not self.one_pass:
            return super().get_page(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            number = 1
        keys_and_total = list(self.keys_with_total(number)) if number >= 1 else []
        if not keys_and_total and number != 1:
            return super().get_page(number)
        self.count = keys_and_total[0][1] if keys_and_total else 0
        keys = [key for key, _total in keys_and_total]
        by_key = self.rows.order_by().in_bulk(keys)
        return self._get_page([by_key[key] for key in keys], number, self)

    def keys_with_total(self, number: int):
        start = (number - 1) * self.per_page
        return self.rows.annotate(total=Window(Count("pk"))).values_list("pk", "total")[
            start : start + self.per_page
        ]

    def page(self, number):
        page = super().page(number)
        page.object_list = list(self.rows.filter(pk__in=page.object_list))
        return page


LIST_COLUMNS = (
    "reference",
    "created_at",
    "urgent",
    "nom",
    "prenom",
    "date_naissance",
    "motif",
    "statut",
    "reponse_attendue_depuis",
    "anonymisee_le",
    "offre__code",
    "offre__libelle",
    "auteur__prenom",
    "auteur__nom_usuel",
    "auteur__nom_patronymique",
)


def orm_filter(form: DemandeFilterForm, demandes):
    if not form.is_bound:
        return demandes
    form.is_valid()
    values = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}
    if values.get("offre"):
        demandes = demandes.filter(offre=values["offre"])
    if values.get("statut"):
        demandes = demandes.filter(statut=values["statut"])
    if values.get("urgent"):
        demandes = demandes.filter(urgent=values["urgent"] == "oui")
    if values.get("du"):
        demandes = demandes.filter(created_at__gte=_start_of(values["du"]))
    if values.get("au"):
        demandes = demandes.filter(
            created_at__lt=_start_of(values["au"] + datetime.timedelta(days=1))
        )
    for term in values.get("q", "").split():
        demandes = demandes.filter(
            Q(nom__icontains=term) | Q(prenom__icontains=term) | Q(reference__icontains=term)
        )
    return demandes


def orm_page(user, organisme_id, query: dict, number):
    filters = DemandeFilterForm(query or None)
    demandes = (
        Demande.objects.visible_to(user)
        .filter(organisme=organisme_id)
        .select_related("offre", "auteur")
        .only(*LIST_COLUMNS)
        .order_by("-created_at", "-pk")
    )
    searches = False
    if filters.is_bound:
        filters.is_valid()
        searches = "q" not in filters.errors and bool(filters.cleaned_data.get("q", "").split())
    return KeysFirstPaginator(orm_filter(filters, demandes), 20, one_pass=searches).get_page(number)


def sql_page(user, organisme_id, query: dict, number):
    filters = DemandeFilterForm(query or None)
    return HistoryPaginator(user, organisme_id, filters.criteria()).get_page(number)


def described(page) -> dict:
    """All that the page holds: the numbers, and each row as the instance it is."""

    def instance(obj):
        if obj is None:
            return None
        values = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
        return (type(obj), values, obj.get_deferred_fields())

    return {
        "count": page.paginator.count,
        "num_pages": page.paginator.num_pages,
        "number": page.number,
        "rows": [
            (instance(d), instance(d.offre), instance(d.auteur), d.motif_label, d.is_anonymisee)
            for d in page.object_list
        ],
    }


def both(user, organisme_id, query, number):
    """The ORM's page and the SQL's, with the number of statements of each."""
    fresh = User.objects.get(pk=user.pk)  # as a request reads it
    with CaptureQueriesContext(connection) as orm_queries:
        orm = described(orm_page(fresh, organisme_id, query, number))
    with CaptureQueriesContext(connection) as sql_queries:
        sql = described(sql_page(fresh, organisme_id, query, number))
    # The form's own lookups (the offer of a filter) are the same in both: compare all.
    return orm, sql, len(orm_queries), len(sql_queries)


# --- The data: every kind of row a history holds --------------------------------------------


@pytest.fixture
def history():
    """45 demandes of one structure with one organisme (three pages), of every offer, status and
    urgency, sent over three days across Paris's midnight, some anonymised, some whose author's
    account is gone, names to search with LIKE's special characters; and demandes the reader
    must never see: the same structure's with another organisme, another structure's."""
    convention = with_all_offres()
    technicien = TechnicienFactory(structure=convention.structure, prenom="Maryse")
    other = TechnicienFactory(structure=convention.structure, prenom="Paul", nom_usuel="")
    offres = list(Offre.objects.order_by("ordre"))
    statuts = list(Statut.values)
    names = ["DUPONT", "DU_PONT", "100%", "BERNARD", "bernardin", "O'NEIL", "ÉLODIE", "back\\s"]
    start = datetime.datetime(2026, 3, 10, 23, 30, tzinfo=PARIS)
    demandes = []
    for i in range(45):
        offre = offres[i % len(offres)]
        statut = statuts[i % len(statuts)]
        created_at = start - datetime.timedelta(minutes=40 * i)  # over midnight, two days
        anonymised = statut == Statut.CLOTUREE and i % 3 == 1
        demande = Demande(
            reference=f"EP-2026-{next(REFERENCES):06d}",
            structure=convention.structure,
            organisme=convention.organisme,
            convention=convention,
            auteur=[technicien, other, None][i % 3],
            offre=offre,
            motif="c2s" if offre.code == "etude-dossier" else "",
            civilite="MME",
            nom=names[i % len(names)],
            prenom=["Louise", "Marc", "Anne-Marie"][i % 3],
            date_naissance=datetime.date(1950 + i, 1 + i % 12, 1 + i % 28),
            departement="60",
            consentement=True,
            urgent=i % 4 == 0,
            categorie_urgence="ij-non-payees" if i % 4 == 0 else "",
            statut=statut,
            created_at=created_at,
            closed_at=created_at + datetime.timedelta(hours=1)
            if statut == Statut.CLOTUREE
            else None,
            reponse_attendue_depuis=timezone.now() if i % 7 == 0 else None,
        )
        if anonymised:  # as the retention job leaves it
            demande.anonymisee_le = timezone.now()
            demande.civilite = demande.nom = demande.prenom = ""
            demande.date_naissance = None
        demandes.append(demande)
    # Two demandes at the very same instant: the key breaks the tie.
    demandes[20].created_at = demandes[21].created_at
    Demande.objects.bulk_create(demandes)
    elsewhere = ConventionFactory(structure=convention.structure, organisme=OrganismeFactory())
    stranger = with_all_offres()
    for seen_by_nobody in (elsewhere, stranger):
        Demande.objects.create(
            reference=f"EP-2026-{next(REFERENCES):06d}",
            structure=seen_by_nobody.structure,
            organisme=seen_by_nobody.organisme,
            convention=seen_by_nobody,
            auteur=None,
            offre=offres[0],
            motif="c2s",
            civilite="MME",
            nom="DUPONT",
            prenom="Louise",
            date_naissance=datetime.date(1985, 3, 12),
            departement="60",
            consentement=True,
            created_at=start,
        )
    return technicien, convention.organisme_id, demandes


QUERIES = [
    {},
    {"offre": "document"},
    {"offre": "etude-dossier", "statut": "envoyee"},
    {"statut": "cloturee"},
    {"urgent": "oui"},
    {"urgent": "non", "offre": "rendez-vous"},
    {"du": "2026-03-10"},
    {"au": "2026-03-09"},
    {"du": "2026-03-09", "au": "2026-03-10"},
    {"du": "2026-03-10", "au": "2026-03-09"},  # the end before the start: "au" ignored
    {"du": "31/02/2026"},  # wrong: ignored
    {"offre": "inconnue", "statut": "perdue", "urgent": "peut-être"},  # all ignored
    {"q": "dupont"},
    {"q": "du_"},  # "_" is a character, not LIKE's wildcard
    {"q": "%"},
    {"q": "back\\"},
    {"q": "ber MAR"},  # two terms: both must be found
    {"q": "élodie"},
    {"q": "o'neil"},
    {"q": "EP-2026-7000"},  # in the reference
    {"q": "personne"},
    {"q": "BERNARD", "statut": "envoyee", "du": "2026-03-09"},
    {"q": "1 85 03 60 123 456 78"},  # a NIR: refused, so ignored
    {"q": "   "},
]
NUMBERS = [None, "1", "2", "3", "4", "99", "0", "-1", "abc"]


@pytest.mark.parametrize("query", QUERIES, ids=str)
def test_every_filter_and_page_reads_as_the_orm(history, query):
    technicien, organisme_id, _demandes = history
    for number in NUMBERS:
        orm, sql, orm_count, sql_count = both(technicien, organisme_id, query, number)
        assert sql == orm, (query, number)
        assert sql_count == orm_count, (query, number)


def test_the_data_reaches_every_case(history):
    """The comparison means something: pages full and partial, rows of every kind."""
    technicien, organisme_id, demandes = history
    first = described(sql_page(technicien, organisme_id, {}, 1))
    last = described(sql_page(technicien, organisme_id, {}, 3))
    assert (first["count"], len(first["rows"]), len(last["rows"])) == (45, 20, 5)
    rows = first["rows"] + last["rows"]
    assert any(auteur is None for _d, _o, auteur, _m, _a in rows)
    assert any(anonymised for *_rest, anonymised in rows)
    midnight = datetime.datetime(2026, 3, 10, tzinfo=PARIS)
    expected = {
        "du_": sum("DU_" in d.nom for d in demandes),
        "%": sum("%" in d.nom for d in demandes),
        "du": sum(d.created_at >= midnight for d in demandes),
    }
    assert all(expected.values()) and expected["du"] < len(demandes)
    for query, key in [({"q": "du_"}, "du_"), ({"q": "%"}, "%"), ({"du": "2026-03-10"}, "du")]:
        assert described(sql_page(technicien, organisme_id, query, 1))["count"] == expected[key]


def test_the_reader_s_state_reads_as_the_orm(history):
    """Another organisme selected, the structure suspended, the account inactive: as the ORM,
    which sees nothing in the last two."""
    technicien, organisme_id, demandes = history
    elsewhere = demandes[0].structure.conventions.exclude(organisme_id=organisme_id).get()
    cases = [(technicien, elsewhere.organisme_id)]
    StructurePartenaire.objects.filter(pk=technicien.structure_id).update(
        suspended_at=timezone.now()
    )
    cases.append((technicien, organisme_id))
    for user, organisme in cases:
        for query in ({}, {"q": "dupont"}):
            orm, sql, orm_count, sql_count = both(user, organisme, query, "1")
            assert sql == orm
            assert sql_count == orm_count
    assert orm["count"] == 0  # suspended: nothing
    StructurePartenaire.objects.filter(pk=technicien.structure_id).update(suspended_at=None)
    User.objects.filter(pk=technicien.pk).update(is_active=False, inactivated_at=timezone.now())
    for query in ({}, {"q": "dupont"}):
        orm, sql, _orm_count, _sql_count = both(technicien, organisme_id, query, "1")
        assert sql == orm
        assert orm["count"] == 0


def test_a_change_counts_on_the_next_page_read(history):
    """Nothing is remembered between two readings: a new demande, a suspension, count at once."""
    technicien, organisme_id, demandes = history
    assert sql_page(technicien, organisme_id, {}, 1).paginator.count == 45
    Demande.objects.filter(pk=demandes[0].pk).delete()
    assert sql_page(technicien, organisme_id, {}, 1).paginator.count == 44
    StructurePartenaire.objects.filter(pk=technicien.structure_id).update(
        suspended_at=timezone.now()
    )
    assert sql_page(technicien, organisme_id, {}, 1).paginator.count == 0


@pytest.mark.parametrize("query", [{}, {"q": "dupont"}])
def test_a_page_number_past_any_history_shows_the_last_page(history, client, query):
    """A number typed in the address, beyond what a database OFFSET holds: the last page, as
    for any page past the end (the ORM's reading failed on it with a search)."""
    technicien, organisme_id, _demandes = history
    number = "9" * 25

    page = sql_page(technicien, organisme_id, query, number)

    assert page.number == page.paginator.num_pages
    assert page.object_list
