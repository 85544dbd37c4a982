"""Server time of each page against its SQL floor, on the national data: docs/performance.md.

    DATABASE_URL=postgres://…/espace_partenaires_bench_scale python -m bench.pages [--requests 200]

Run after `python -m bench.seed` (the data is read, never changed, except the sessions it
makes). Each page is requested through Django's test client, with production settings (DEBUG
off, cached templates, persistent database connection), `--requests` times after a warm-up, in
`--rounds` rounds where every page takes its turn (so that a noisy minute on a shared machine
weighs on all pages alike). For each it prints the number of SQL queries, the median and 95th
percentile of the server time, the time spent in SQL inside the page, and the SQL floor: the
median time of the minimal raw SQL that fetches the same data (session, user, access check, the
page's rows), run on the same connection; the processor per request of Django (this
process) and of PostgreSQL (the connection's server process), beside the three floors of
bench/floors.py measured in the same rounds, each page's processor as a multiple of the
small-template floor's; then the login chain alone, by hand-written SQL and by the ORM, in
turn. --write-doc replaces the table of
docs/performance.md; --block names the marked block to write (e.g. "bench-pages-before" for a
measurement before a change).
"""

import argparse
import datetime
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Production settings, without HTTPS (the test client speaks plain HTTP).
# The production settings with the floors' URLconf (bench/settings.py).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
os.environ["HTTPS"] = "false"
os.environ.setdefault("CONN_MAX_AGE", "600")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from bench import floors  # noqa: E402
from bench.cpu import process_seconds  # noqa: E402
from bench.doc import write_doc  # noqa: E402
from bench.sessions import session_for, usable_partners  # noqa: E402
from conventions.models import Convention  # noqa: E402
from demandes import catalogue  # noqa: E402
from demandes.forms import DemandeFilterForm  # noqa: E402
from demandes.history import HistoryPaginator  # noqa: E402
from demandes.models import Demande  # noqa: E402
from demandes.views import LIST_PAGE_SIZE  # noqa: E402


@dataclass
class Result:
    page: str
    url: str
    queries: int = 0
    times: list[float] = field(default_factory=list)
    sql_times: list[float] = field(default_factory=list)
    floor_times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)  # this process, per request
    postgres_cpu: float = 0.0  # the connection's backend, over all the requests
    portal: bool = True

    @staticmethod
    def ms(values: list[float], q: float = 0.5) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000

    @property
    def median(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def p95(self) -> float:
        return self.ms(self.times, 0.95)

    @property
    def sql(self) -> float:
        return statistics.median(self.sql_times) * 1000

    @property
    def floor(self) -> float:
        return statistics.median(self.floor_times) * 1000 if self.floor_times else 0.0

    @property
    def cpu(self) -> float:
        """Median processor time of Django (this process) per request, in ms."""
        return statistics.median(self.cpu_times) * 1000

    @property
    def postgres(self) -> float:
        """PostgreSQL's processor time per request (its backend for this connection), in ms."""
        return self.postgres_cpu / len(self.cpu_times) * 1000

    @property
    def cpu_total(self) -> float:
        return self.cpu + self.postgres


# --- The minimal SQL of each page -----------------------------------------------------------
# What any implementation must read; %(name)s parameters come from the fixture below. The
# session's idle timeout writes the session row at most once a minute (accounts/sessions.py),
# not once per page: no write is part of a page's floor.

SESSION = (
    "SELECT session_data FROM django_session WHERE session_key = %(session)s "
    "AND expire_date > now()",
    "SELECT u.*, s.nom FROM accounts_user u LEFT JOIN organismes_structurepartenaire s "
    "ON s.id = u.structure_id WHERE u.id = %(user)s",
)
ACCESS = (
    "SELECT c.id, c.date_debut, c.date_fin, c.max_techniciens, c.habilitee, o.id, o.nom "
    "FROM conventions_convention c JOIN organismes_organisme o ON o.id = c.organisme_id "
    "WHERE c.structure_id = %(structure)s AND (c.date_fin IS NULL OR c.date_fin >= CURRENT_DATE) "
    "ORDER BY o.nom",
)
OFFRES_OF_CONVENTION = (
    "SELECT o.id, o.code, o.libelle FROM conventions_convention_offres co "
    "JOIN conventions_offre o ON o.id = co.offre_id WHERE co.convention_id = %(convention)s "
    "ORDER BY o.ordre",
)
PORTAL = SESSION + ACCESS


def history_floor(where: str = "", offset: str = "0", one_pass: bool = False) -> tuple[str, ...]:
    """The page's keys from the history index (the OFFSET of a deep page skips index entries,
    not rows), then those rows with their offer and author, in one statement; the count. With
    one_pass (a search, whose filter is costly), the total comes with the keys instead: still
    one statement, the filter evaluated once."""
    # Built from this module's constants only, never from input.
    scope = "d.structure_id = %(structure)s AND d.organisme_id = %(organisme)s" + where
    total = ", count(*) OVER () AS total" if one_pass else ""
    count = () if one_pass else (f"SELECT count(*) FROM demandes_demande d WHERE {scope}",)  # noqa: S608
    return (
        *PORTAL,
        "SELECT d.id, d.reference, d.created_at, d.nom, d.prenom, d.date_naissance, d.motif, "  # noqa: S608
        "d.statut, d.urgent, o.code, o.libelle, u.prenom, u.nom_usuel, u.nom_patronymique "
        f"FROM (SELECT d.id{total} FROM demandes_demande d WHERE {scope} "
        f"ORDER BY d.created_at DESC, d.id DESC LIMIT {LIST_PAGE_SIZE} OFFSET {offset}) page "
        "JOIN demandes_demande d ON d.id = page.id "
        "JOIN conventions_offre o ON o.id = d.offre_id "
        "LEFT JOIN accounts_user u ON u.id = d.auteur_id ORDER BY d.created_at DESC, d.id DESC",
        *count,
        "SELECT id, code, libelle FROM conventions_offre ORDER BY ordre",  # the filter's choices
        *OFFRES_OF_CONVENTION,  # may a new demande be made?
    )


SEARCH = (
    " AND (upper(d.nom) LIKE upper(%(like)s) OR upper(d.prenom) LIKE upper(%(like)s) "
    "OR upper(d.reference) LIKE upper(%(like)s))"
)
FILTERS = " AND d.statut = 'cloturee' AND d.offre_id = %(offre)s AND NOT d.urgent"

FLOORS = {
    "selection": PORTAL,
    "accounts": (
        *PORTAL,
        "SELECT count(*) FROM accounts_user WHERE structure_id = %(structure)s "
        "AND role = 'technicien' AND is_active",
        "SELECT id, civilite, nom_usuel, nom_patronymique, prenom, identifiant, telephone, "
        "fonction, email, is_active, password FROM accounts_user "
        "WHERE structure_id = %(structure)s AND role = 'technicien' ORDER BY is_active DESC, "
        "coalesce(nullif(nom_usuel, ''), nom_patronymique), prenom, id LIMIT 50",
    ),
    "history": history_floor(),
    "history_deep": history_floor(offset="%(offset)s"),
    "history_filters": history_floor(FILTERS),
    "history_search": history_floor(SEARCH, one_pass=True),
    "detail": (
        *PORTAL,
        "SELECT d.*, o.code, o.libelle, g.nom, u.prenom, u.nom_usuel, u.nom_patronymique "
        "FROM demandes_demande d JOIN conventions_offre o ON o.id = d.offre_id "
        "JOIN organismes_organisme g ON g.id = d.organisme_id "
        "LEFT JOIN accounts_user u ON u.id = d.auteur_id "
        "WHERE d.id = %(demande)s AND d.structure_id = %(structure)s",
        "SELECT e.*, u.prenom, u.nom_usuel, u.nom_patronymique FROM demandes_evenement e "
        "LEFT JOIN accounts_user u ON u.id = e.auteur_id WHERE e.demande_id = %(demande)s "
        "ORDER BY e.at, e.id",
        "SELECT p.id, p.nom, p.evenement_id FROM demandes_piecejointe p "
        "WHERE p.demande_id = %(demande)s",
    ),
    "create": (*PORTAL, *OFFRES_OF_CONVENTION),
    # The floors (bench/floors.py): nothing, then what every logged-in portal request reads.
    "floor_bare": (),
    "floor_middleware": PORTAL,
    "floor_template": PORTAL,
    "admin_changelist": (
        *SESSION,
        "SELECT d.id, d.reference, d.urgent, d.categorie_urgence, d.statut, d.motif, d.nom, "
        "d.prenom, d.created_at, o.code, o.libelle, s.nom FROM demandes_demande d "
        "JOIN conventions_offre o ON o.id = d.offre_id "
        "JOIN organismes_structurepartenaire s ON s.id = d.structure_id "
        "WHERE d.organisme_id = %(organisme)s ORDER BY d.urgent DESC, d.created_at, d.id "
        "LIMIT 50",
        "SELECT count(*) FROM demandes_demande WHERE organisme_id = %(organisme)s",
        "SELECT id, libelle FROM conventions_offre ORDER BY ordre",
        "SELECT DISTINCT s.id, s.nom FROM organismes_structurepartenaire s "
        "JOIN conventions_convention c ON c.structure_id = s.id "
        "WHERE c.organisme_id = %(organisme)s ORDER BY s.nom, s.id",
    ),
    "admin_indicators": (
        *SESSION,
        "SELECT c.id, c.reference, s.nom FROM conventions_convention c "
        "JOIN organismes_structurepartenaire s ON s.id = c.structure_id "
        "WHERE c.organisme_id = %(organisme)s ORDER BY s.nom, c.date_debut DESC, c.id",
        "SELECT c.*, s.nom, g.nom FROM conventions_convention c "
        "JOIN organismes_structurepartenaire s ON s.id = c.structure_id "
        "JOIN organismes_organisme g ON g.id = c.organisme_id "
        "WHERE c.id = %(convention)s AND c.organisme_id = %(organisme)s",
        "SELECT id, libelle FROM conventions_offre ORDER BY ordre",
        "SELECT offre_id, date_trunc('month', created_at AT TIME ZONE 'Europe/Paris'), count(*) "
        "FROM demandes_demande WHERE convention_id = %(convention)s "
        "AND created_at >= %(du)s AND created_at < %(au)s GROUP BY 1, 2",
        "SELECT categorie_urgence, count(*) FROM demandes_demande "
        "WHERE convention_id = %(convention)s AND created_at >= %(du)s AND created_at < %(au)s "
        "AND urgent GROUP BY 1",
        "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY closed_at - created_at) "
        "FROM demandes_demande WHERE convention_id = %(convention)s "
        "AND created_at >= %(du)s AND created_at < %(au)s AND statut = 'cloturee'",
    ),
}


# --- The pages and who asks for them ---------------------------------------------------------


def fixture() -> dict:
    """The national data's worst cases: the structure with the most demandes (its history has
    thousands of pages) and its organisme, whose agent lists tens of thousands of demandes."""
    big = (
        Demande.objects.values("structure_id", "organisme_id", "convention_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    structure_id, organisme_id = big["structure_id"], big["organisme_id"]
    technicien = usable_partners().filter(structure_id=structure_id).order_by("pk").first()
    gestionnaire = (
        usable_partners(Role.GESTIONNAIRE).filter(structure_id=structure_id).order_by("pk").first()
    )
    # A technicien with two organismes to choose from, for the selection page.
    two = (
        Convention.objects.en_cours()
        .values("structure_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=2)
        .order_by("structure_id")
    )
    chooser = usable_partners().filter(structure_id__in=two.values("structure_id")).first()
    agent = User.objects.get(role=Role.AGENT, organisme_id=organisme_id)
    demandes = Demande.objects.filter(structure_id=structure_id, organisme_id=organisme_id)
    count = demandes.count()
    detail = demandes.annotate(steps=Count("evenements")).order_by("-steps", "-pk").first()
    searched = demandes.order_by("-pk")[500]
    today = timezone.localdate()
    return {
        "structure": structure_id,
        "organisme": organisme_id,
        "convention": big["convention_id"],
        "count": count,
        "last_page": max(1, math.ceil(count / LIST_PAGE_SIZE)),
        "offset": (max(1, math.ceil(count / LIST_PAGE_SIZE)) - 1) * LIST_PAGE_SIZE,
        "technicien": technicien,
        "gestionnaire": gestionnaire,
        "chooser": chooser,
        "agent": agent,
        "demande": detail.pk,
        "nom": searched.nom,
        "like": f"%{searched.nom}%",
        "offre": catalogue_offre_id(catalogue.DOCUMENT),
        "du": midnight(today - datetime.timedelta(days=365)),
        "au": midnight(today + datetime.timedelta(days=1)),
    }


def midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def catalogue_offre_id(code: str) -> int:
    from conventions.models import Offre

    return Offre.objects.get(code=code).pk


def pages(data: dict) -> list[tuple[str, str, User, str]]:
    """(key, label, user, url) of every page measured."""
    history = reverse("demandes:list")
    return [
        (
            "floor_bare",
            "Plancher : vue triviale, sans middleware",
            data["technicien"],
            floors.FLOOR_BARE,
        ),
        (
            "floor_middleware",
            "Plancher : vue triviale, tous les middlewares (technicien)",
            data["technicien"],
            floors.FLOOR_MIDDLEWARE,
        ),
        (
            "floor_template",
            "Plancher : petit gabarit sur base.html (technicien)",
            data["technicien"],
            floors.FLOOR_TEMPLATE,
        ),
        (
            "selection",
            "Choix de l'organisme",
            data["chooser"],
            reverse("accounts:organisme_selection"),
        ),
        (
            "accounts",
            "Gestion des comptes (liste)",
            data["gestionnaire"],
            reverse("accounts:techniciens"),
        ),
        ("history", "Mes demandes, page 1", data["technicien"], history),
        (
            "history_deep",
            f"Mes demandes, dernière page ({data['last_page']})",
            data["technicien"],
            f"{history}?page={data['last_page']}",
        ),
        (
            "history_filters",
            "Mes demandes, filtres (statut, offre, urgence)",
            data["technicien"],
            f"{history}?statut=cloturee&offre={catalogue.DOCUMENT}&urgent=non",
        ),
        (
            "history_search",
            "Mes demandes, recherche par nom",
            data["technicien"],
            f"{history}?q={data['nom']}",
        ),
        (
            "detail",
            "Détail d'une demande",
            data["technicien"],
            reverse("demandes:detail", args=[data["demande"]]),
        ),
        (
            "create",
            "Nouvelle demande (formulaire)",
            data["technicien"],
            reverse("demandes:create", args=[catalogue.RENDEZ_VOUS]),
        ),
        (
            "admin_changelist",
            "Admin : demandes de l'organisme (agent)",
            data["agent"],
            reverse("admin:demandes_demande_changelist"),
        ),
        (
            "admin_indicators",
            "Admin : indicateurs d'une convention",
            data["agent"],
            reverse("admin:demandes_demande_indicateurs") + f"?convention={data['convention']}",
        ),
    ]


def check(response, url: str) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.get('Location', '')}")


@dataclass
class Page:
    """A page measured in rounds: its client, logged in once, warmed up once."""

    key: str
    url: str
    user: User
    session: str
    client: Client
    result: Result


def prepare(key: str, label: str, user: User, url: str, data: dict) -> Page:
    organisme = data["organisme"] if user in (data["technicien"], data["gestionnaire"]) else None
    session = session_for(user, organisme)
    client = Client()
    if key == "floor_bare":
        client.handler = floors.BareClientHandler()
    client.cookies[settings.SESSION_COOKIE_NAME] = session
    for _ in range(5):  # warm-up: templates, connection, caches
        check(client.get(url), url)
    result = Result(label, url, portal=not key.startswith(("admin", "floor")))
    return Page(key, url, user, session, client, result)


def measure(page: Page, data: dict, requests: int) -> None:
    """`requests` more requests of the page and of its floor, added to its result."""
    client, url, result = page.client, page.url, page.result
    queries = []
    sql = [0.0]

    def count(execute, sql_text, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            sql[0] += time.perf_counter() - started
            queries.append(sql_text)

    backend = backend_pid()
    postgres_before = process_seconds(backend)
    for _ in range(requests):
        queries.clear()
        sql[0] = 0.0
        with connection.execute_wrapper(count):
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            result.cpu_times.append(time.process_time() - cpu)
            result.times.append(time.perf_counter() - started)
        check(response, url)
        result.sql_times.append(sql[0])
    result.postgres_cpu += process_seconds(backend) - postgres_before
    result.queries = len(queries)

    params = {**data, "session": page.session, "user": page.user.pk}
    statements = FLOORS[page.key]
    with connection.cursor() as cursor:
        for attempt in range(2 + requests):
            started = time.perf_counter()
            for statement in statements:
                cursor.execute(statement, params)
                if cursor.description:
                    cursor.fetchall()
            if attempt >= 2:  # the first two warm the floor's statements up
                result.floor_times.append(time.perf_counter() - started)


def backend_pid() -> int:
    """The PostgreSQL process serving this connection (the same for every request: the
    connection is persistent), whose processor time is read around each page's requests."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def login_chain_cpu(data: dict, rounds: int) -> dict[str, float]:
    """Processor time (median, ms; Django and PostgreSQL) of the login chain of a technicien:
    the session, the user with its structure, its organisme choices; read by the portal's
    hand-written SQL (accounts/login_chain.py) and by the ORM (Django's database session store,
    select_related, selection.organisme_choices), in alternation, on the same connection."""
    from django.contrib.sessions.backends import db as django_sessions

    from accounts.backends import AccountBackend
    from accounts.selection import organisme_choices
    from accounts.sessions import SessionStore

    try:
        from accounts.login_chain import organisme_choices_of
    except ImportError:  # the code before issue 20, measured with this script in alternation
        organisme_choices_of = None

    user = data["technicien"]
    key = session_for(user, data["organisme"])

    def by_sql():
        session = SessionStore(key)
        session.load()
        read = AccountBackend().get_user(user.pk)
        if organisme_choices_of is None:
            return organisme_choices(read.structure)
        return organisme_choices_of(read)

    def by_orm():
        session = django_sessions.SessionStore(key)
        session.load()
        read = User.objects.select_related("structure").get(pk=user.pk)
        return organisme_choices(read.structure)

    if [c.organisme.pk for c in by_sql()] != [c.organisme.pk for c in by_orm()]:
        raise RuntimeError("the login chain's two readings disagree")
    backend = backend_pid()
    times = {"sql": [], "orm": []}
    postgres = {"sql": 0.0, "orm": 0.0}
    for _ in range(rounds):
        for name, chain in (("sql", by_sql), ("orm", by_orm)):
            before_pg, before = process_seconds(backend), time.process_time()
            for _ in range(20):
                chain()
            times[name].append((time.process_time() - before) / 20)
            postgres[name] += process_seconds(backend) - before_pg
    return {
        f"{name}_{part}": value
        for name in times
        for part, value in (
            ("django", statistics.median(times[name]) * 1000),
            ("postgres", postgres[name] / (20 * rounds) * 1000),
        )
    }


def explain_search(data: dict) -> str:
    """The plan of the history's search by name, as the view runs it (demandes/history.py): the
    page's keys and the total, in one pass (the 20 rows are then read by key)."""
    form = DemandeFilterForm({"q": data["nom"]})
    paginator = HistoryPaginator(data["technicien"], data["organisme"], form.criteria())
    sql, params = paginator.keys_sql(1)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ANALYZE {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


# --- Output ---------------------------------------------------------------------------------


def table(results: list[Result]) -> list[str]:
    """Time, then processor per request (Django: this process; PostgreSQL: its backend), and
    the ratio of each page's processor to the small-template floor's of the same run."""
    template = next((r for r in results if r.url == floors.FLOOR_TEMPLATE), None)
    lines = [
        "| Page | Requêtes SQL | Médiane (ms) | p95 (ms) | dont SQL (ms) | Plancher SQL (ms) "
        "| Processeur Django (ms) | Processeur PostgreSQL (ms) | × plancher « petit gabarit » |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = f"{r.cpu_total / template.cpu_total:.2f}" if template else "–"
        lines.append(
            f"| {r.page} | {r.queries} | {r.median:.1f} | {r.p95:.1f} | {r.sql:.1f} "
            f"| {r.floor:.1f} | {r.cpu:.2f} | {r.postgres:.2f} | {ratio} |"
        )
    return lines


def chain_lines(chain: dict[str, float]) -> list[str]:
    return [
        "| Chaîne de connexion (session, compte et structure, organismes) | Processeur Django (ms) "
        "| Processeur PostgreSQL (ms) | Total (ms) |",
        "|---|---:|---:|---:|",
        *(
            f"| {label} | {chain[name + '_django']:.2f} | {chain[name + '_postgres']:.2f} "
            f"| {chain[name + '_django'] + chain[name + '_postgres']:.2f} |"
            for name, label in (
                ("sql", "SQL écrit à la main (`accounts/login_chain.py`), 2 requêtes"),
                ("orm", "ORM (avant l'issue 20), 3 requêtes"),
            )
        ),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="per page, in all")
    parser.add_argument("--rounds", type=int, default=5, help="pages measured in turn, this often")
    parser.add_argument("--only", help="measure only the pages whose key contains this")
    parser.add_argument("--write-doc", action="store_true", help="update docs/performance.md")
    parser.add_argument("--block", default="bench-pages")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        print("Refused: the pages are measured on PostgreSQL (DATABASE_URL=postgres://…).")
        return 2

    # As autovacuum would have done by then: after the jobs' benchmark (mass updates and deletes)
    # the visibility map and the statistics are stale, and the index-only scans of the history
    # go back to the table (measured: history page 1 at 142 ms instead of 51 ms).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")

    data = fixture()
    print(
        f"Structure {data['structure']} with organisme {data['organisme']}: {data['count']} "
        f"demandes ({data['last_page']} pages); {Demande.objects.count()} demandes in all."
    )
    measured = [
        prepare(key, label, user, url, data)
        for key, label, user, url in pages(data)
        if not args.only or args.only in key
    ]
    # Round after round, every page in turn: on a shared machine, a noisy minute then weighs on
    # every page alike instead of on the one measured at that moment.
    for _ in range(args.rounds):
        for page in measured:
            measure(page, data, math.ceil(args.requests / args.rounds))
    results = [page.result for page in measured]
    for result in results:
        print(
            f"  {result.page:<48} {result.queries:3d} q  median {result.median:6.1f} ms  "
            f"p95 {result.p95:6.1f} ms  SQL {result.sql:5.1f} ms  floor {result.floor:5.1f} ms  "
            f"CPU {result.cpu:5.2f} + {result.postgres:5.2f} ms",
            flush=True,
        )
    chain = login_chain_cpu(data, args.rounds * 4)
    plan = explain_search(data)
    print("\n".join(table(results)))
    print("\n".join(chain_lines(chain)))
    print("\nEXPLAIN ANALYZE of the history's search by name:\n" + plan)

    if args.write_doc:
        stamp = timezone.localtime()
        lines = [
            f"Mesuré le {stamp:%d/%m/%Y à %H:%M}, {args.requests} requêtes par page ; "
            f"{Demande.objects.count()} demandes en base ; structure la plus chargée : "
            f"{data['count']} demandes avec son organisme ({data['last_page']} pages).",
            "",
            *table(results),
            "",
            *chain_lines(chain),
            "",
            "Plan de la recherche par nom dans l'historique (`EXPLAIN ANALYZE`) :",
            "",
            "```",
            plan,
            "```",
        ]
        write_doc(args.block, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
