"""The partner's history ("Mes demandes", demandes/list.html) read by hand-written SQL
(docs/decisions.md, issue 20).

A page of the history is the structure's demandes with the selected organisme, newest first,
filtered by the form's criteria, twenty to a page. Through the ORM a page cost some 4 ms of
processor in building and compiling its querysets, more than the statements' own time in
PostgreSQL; written by hand, each statement is built from a few strings. The statements are those
the ORM ran, in the same number, with the same plans:

1. the count, on the history index alone (`demande_historique_idx`);
2. the page's rows with their offer and author, their keys a subquery that skips to the page on
   the same index (`d.id IN (SELECT d.id … ORDER BY … LIMIT … OFFSET …)`), so that a deep page
   reads 20 rows of the table, not the thousands before it.

A search by name or reference (the costly filter, served by the trigram index) is evaluated
once: the page's keys come with the total (`COUNT(*) OVER ()`), then the rows are read by key.

Who sees what is the rule of Demande.objects.visible_to for a partner: the structure's own
demandes, none once the structure's access is suspended or the account inactive, read in the
statement itself, so that nothing decided earlier in the request is trusted. The rows become the
instances the ORM builds (core/rows.py), with the offer and the author attached as
`select_related` attaches them, and the columns not shown deferred as with `.only()`.
tests/demandes/test_history.py compares this reading with the ORM's on every filter, search
and page, on SQLite and on PostgreSQL.
"""

import datetime
from dataclasses import dataclass
from functools import cached_property

from django.core.paginator import Page, Paginator
from django.db import connection

from accounts.models import User
from conventions.models import Offre
from core.rows import ModelColumns, PerDatabase

from .models import Demande

PAGE_SIZE = 20
# Far beyond any structure's history (a billion demandes), far below a 64-bit OFFSET.
LAST_REACHABLE_PAGE = 10**9 // PAGE_SIZE

# What a row of the list shows (demandes/list.html): a demande has some thirty columns, its
# author as many; reading only these halves the cost of the page's rows (docs/performance.md).
DEMANDE_COLUMNS = (
    "reference",
    "offre",
    "motif",
    "auteur",
    "nom",
    "prenom",
    "date_naissance",
    "urgent",
    "statut",
    "created_at",
    "anonymisee_le",
    "reponse_attendue_depuis",
)
OFFRE_COLUMNS = ("code", "libelle")
AUTEUR_COLUMNS = ("prenom", "nom_usuel", "nom_patronymique")
# The columns a search looks in, anywhere in them and whatever the case.
SEARCHED = ("nom", "prenom", "reference")


@dataclass(frozen=True)
class Criteria:
    """What the history is filtered by (DemandeFilterForm.criteria): every criterion given must
    hold. `after` and `before` are instants: from midnight of the first day picked, up to
    (not including) midnight after the last."""

    offre_id: int | None = None
    statut: str = ""
    urgent: bool | None = None
    after: datetime.datetime | None = None
    before: datetime.datetime | None = None
    terms: tuple[str, ...] = ()


class _Statements:
    """The parts that do not change while the process runs: the tables and columns, from the
    models' own names (no input ever goes into the SQL text, only into its parameters)."""

    def __init__(self):
        quote = connection.ops.quote_name
        self.demande = ModelColumns(Demande, "d", DEMANDE_COLUMNS)
        self.offre = ModelColumns(Offre, "o", OFFRE_COLUMNS)
        self.auteur = ModelColumns(User, "a", AUTEUR_COLUMNS)
        structure = Demande._meta.get_field("structure").related_model
        self.structure = quote(structure._meta.db_table)
        self.source = (
            f"{quote(Demande._meta.db_table)} d "
            f"INNER JOIN {self.structure} s ON s.id = d.structure_id"
        )
        self.order = "d.created_at DESC, d.id DESC"
        self.rows = (
            f"SELECT {self.demande.sql}, {self.offre.sql}, {self.auteur.sql} "  # noqa: S608
            f"FROM {quote(Demande._meta.db_table)} d "
            f"INNER JOIN {quote(Offre._meta.db_table)} o ON o.id = d.offre_id "
            f"LEFT JOIN {quote(User._meta.db_table)} a ON a.id = d.auteur_id "
        )
        # Django's icontains, as the ORM writes it for this database (UPPER(…::text) LIKE
        # UPPER(%s) on PostgreSQL, the expressions of the trigram index; LIKE … ESCAPE on SQLite).
        cast = connection.ops.lookup_cast("icontains", "CharField")
        like = connection.operators["icontains"] % "%s"
        self.search = "(" + " OR ".join(f"{cast % f'd.{name}'} {like}" for name in SEARCHED) + ")"

    def where(self, structure_id: int, organisme_id: int, criteria: Criteria):
        """The WHERE clause of the history with these criteria, and its parameters."""
        clauses = ["d.structure_id = %s", "s.suspended_at IS NULL", "d.organisme_id = %s"]
        params: list = [structure_id, organisme_id]
        if criteria.offre_id is not None:
            clauses.append("d.offre_id = %s")
            params.append(criteria.offre_id)
        if criteria.statut:
            clauses.append("d.statut = %s")
            params.append(criteria.statut)
        if criteria.urgent is not None:
            clauses.append("d.urgent = %s")
            params.append(criteria.urgent)
        if criteria.after is not None:
            clauses.append("d.created_at >= %s")
            params.append(connection.ops.adapt_datetimefield_value(criteria.after))
        if criteria.before is not None:
            clauses.append("d.created_at < %s")
            params.append(connection.ops.adapt_datetimefield_value(criteria.before))
        for term in criteria.terms:
            clauses.append(self.search)
            pattern = f"%{connection.ops.prep_for_like_query(term)}%"
            params.extend([pattern] * len(SEARCHED))
        return " AND ".join(clauses), params

    def instances(self, rows) -> list[Demande]:
        demande_end = len(self.demande)
        offre_end = demande_end + len(self.offre)
        offre_field = Demande._meta.get_field("offre")
        auteur_field = Demande._meta.get_field("auteur")
        demandes = []
        for row in rows:
            demande = self.demande.instance(row[:demande_end])
            offre_field.set_cached_value(demande, self.offre.instance(row[demande_end:offre_end]))
            auteur_field.set_cached_value(demande, self.auteur.instance(row[offre_end:]))
            demandes.append(demande)
        return demandes


_built = PerDatabase(_Statements)


class HistoryPaginator(Paginator):
    """Django's Paginator over the history read by hand: the same pages, numbers and
    out-of-range rules (the first page for a wrong number, the last past the end)."""

    def __init__(self, user: User, organisme_id: int, criteria: Criteria):
        super().__init__((), PAGE_SIZE)
        self.statements = _built()
        # An inactive account sees nothing, nor anyone but a partner (visible_to's none()).
        self.nothing = not user.is_active or not user.is_partner
        self.where, self.params = self.statements.where(user.structure_id, organisme_id, criteria)
        self.one_pass = bool(criteria.terms)

    @cached_property
    def count(self) -> int:
        if self.nothing:
            return 0
        sql = f"SELECT COUNT(*) FROM {self.statements.source} WHERE {self.where}"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, self.params)
            return cursor.fetchone()[0]

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if self.nothing or top <= bottom:
            return self._get_page([], number, self)
        statements = self.statements
        sql = (
            f"{statements.rows}WHERE d.id IN (SELECT d.id FROM {statements.source} "  # noqa: S608
            f"WHERE {self.where} ORDER BY {statements.order} LIMIT %s OFFSET %s) "
            f"ORDER BY {statements.order}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*self.params, top - bottom, bottom])
            rows = cursor.fetchall()
        return self._get_page(statements.instances(rows), number, self)

    def get_page(self, number) -> Page:
        """As Paginator.get_page; for a search, the page's keys and the total in one pass."""
        if not self.one_pass or self.nothing:
            return super().get_page(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            number = 1
        # A page past any history (a number typed in the address) is counted, not skipped to:
        # an OFFSET beyond 64 bits is an error in the database, not an empty page.
        reachable = 1 <= number <= LAST_REACHABLE_PAGE
        keys_and_total = self._keys_with_total(number) if reachable else []
        if not keys_and_total and number != 1:
            return super().get_page(number)  # out of range: counted, then the last page
        self.count = keys_and_total[0][1] if keys_and_total else 0
        keys = [key for key, _total in keys_and_total]
        return self._get_page(self._rows_by_key(keys), number, self)

    def keys_sql(self, number: int) -> tuple[str, list]:
        """The statement of the page's keys with the total (a search's one pass)."""
        sql = (
            f"SELECT d.id, COUNT(*) OVER () FROM {self.statements.source} "  # noqa: S608
            f"WHERE {self.where} ORDER BY {self.statements.order} LIMIT %s OFFSET %s"
        )
        return sql, [*self.params, self.per_page, (number - 1) * self.per_page]

    def _keys_with_total(self, number: int) -> list[tuple[int, int]]:
        """(pk, total) of the page's rows: the total repeated on each, none past the end."""
        with connection.cursor() as cursor:
            cursor.execute(*self.keys_sql(number))
            return cursor.fetchall()

    def _rows_by_key(self, keys: list[int]) -> list[Demande]:
        """The rows of these keys, in their order; the criteria hold again, as the ORM's
        in_bulk on the filtered rows had them (a row gone since is left out)."""
        if not keys:
            return []
        statements = self.statements
        placeholders = ", ".join(["%s"] * len(keys))
        sql = (
            f"{statements.rows}INNER JOIN {statements.structure} s ON s.id = d.structure_id "
            f"WHERE {self.where} AND d.id IN ({placeholders})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*self.params, *keys])
            by_key = {demande.pk: demande for demande in statements.instances(cursor.fetchall())}
        return [by_key[key] for key in keys if key in by_key]
