"""National-scale data for the benchmarks: `python -m bench.seed`, bench/jobs.py, bench/pages.py.

Generated fast and the same for the same seed: rows are computed in Python from one
random.Random(seed) and written with PostgreSQL's COPY (psycopg 3's `cursor.copy`), primary keys
included, inside the caller's transaction; other databases (SQLite in the tests) get plain
multi-row INSERTs. Nothing that the migrations own is dropped: the indexes are there while the
rows go in, as in production.

What it looks like (docs/performance.md describes it for the reader):
- organismes with purge delays of 6, 3 and 12 months; the offers of service of the catalogue;
- structures whose conventions follow a mix (`structure_kind`) chosen so that every scheduled
  job has work: ended yesterday, ending within 30 days, two organismes, ended long ago…;
- per structure, 2 gestionnaires and the rest techniciens, with passwords of every age, a few
  never set, 15 % inactive for 1, 4 or 8 months; a creation line in each account's history;
- demandes spread over the last two years, unevenly: 1 % of the structures (a département's
  sites) send 40 times more, and the first of them 400 times more, so that a history has
  thousands of pages; each with its timeline (sent, taken in charge, complement asked and
  given, closed with an answer) according to its age;
- the e-mail log: two lines per account over 24 months.
"""

import datetime
import random
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max
from django.utils import timezone

from accounts.cgu import CGU_VERSION
from accounts.models import AccountEvent, Civilite, Role, User
from conventions.models import Convention, Offre
from demandes import catalogue
from demandes.models import Demande, Evenement, ReferenceCounter, Statut
from notifications.models import SentEmail
from organismes.models import Organisme, StructurePartenaire

BENCH_PASSWORD = "Bench-Mot-De-Passe-2026"  # noqa: S105 (the seeded accounts' only password)
GESTIONNAIRES_PER_STRUCTURE = 2
EMAIL_LOG_ROWS_PER_ACCOUNT = 2  # over the last 24 months: about half older than the retention
COPY_CHUNK = 100_000  # rows computed, then written, at a time: bounded memory


@dataclass(frozen=True)
class Volume:
    organismes: int = 100
    structures: int = 20_000
    accounts: int = 400_000
    demandes: int = 2_000_000
    seed: int = 2026

    @property
    def accounts_per_structure(self) -> int:
        return max(self.accounts // max(self.structures, 1), GESTIONNAIRES_PER_STRUCTURE + 1)


# A step of the generation: `with step("demandes", "2000000 demandes"):` (timed by the caller).
Step = Callable[[str, str], AbstractContextManager]


def no_step(label: str, detail: str = "") -> AbstractContextManager:
    return nullcontext()


def refusal_to_empty() -> str | None:
    """Why the current database must not be emptied, or None: its name must contain 'bench'."""
    name = str(settings.DATABASES["default"]["NAME"])
    if "bench" not in Path(name).name:
        return f"the database {name!r} would be emptied; its name must contain 'bench'."
    return None


# --- Small helpers --------------------------------------------------------------------------


def siret(number: int) -> str:
    """A 14-digit number passing the Luhn check, different for each number."""
    base = f"{number:013d}"
    for last in range(10):
        digits = [int(c) for c in base + str(last)]
        total = 0
        for i, d in enumerate(reversed(digits)):
            if i % 2:
                d *= 2
                d -= 9 if d > 9 else 0
            total += d
        if total % 10 == 0:
            return base + str(last)
    raise AssertionError


def months_ago(now: datetime.datetime, months: int, days: int = 0) -> datetime.datetime:
    return now - datetime.timedelta(days=round(months * 30.44) + days)


def structure_kind(index: int) -> str:
    """What the structure's conventions look like, by its rank (percentages of structures)."""
    rank = index % 100
    if rank < 5:
        return "ended_yesterday_alone"  # end_conventions inactivates its accounts
    if rank < 8:
        return "ended_yesterday_with_other"  # ...but another convention is en cours: nothing
    if rank < 13:
        return "ending_within_30_days"  # warn_convention_ends writes to it
    if rank < 40:
        return "two_organismes"  # purge delays 3 and 6 months: the shortest (3) applies
    if rank < 60:
        return "old_ended_already_handled"  # an ended convention the job dealt with long ago
    return "one_convention"  # (1.5 conventions per structure on average)


def demandes_weight(index: int) -> int:
    """How many shares of the demandes a structure sends: a few big ones, most small."""
    if index == 99:
        return 400  # the biggest: a history of thousands of pages
    return 40 if index % 100 == 99 else 1


# Names of insured persons and of accounts: syllables make thousands of distinct names, so that
# a search by name finds a few rows, as it would in real life.
SYLLABES = (
    "BER", "NAR", "DU", "MON", "LE", "ROU", "GEN", "TIL", "MAR", "CHA",
    "VIL", "LAN", "PER", "FON", "GAR", "BOU", "RI", "DE", "LOR", "SAU",
)  # fmt: skip
PRENOMS = (
    "Camille", "Claude", "Dominique", "Jeanne", "Louis", "Marie", "Nicolas", "Pierre",
    "Sophie", "Thomas", "Lucie", "Hugo", "Emma", "Léa", "Jules", "Chloé", "Inès", "Karim",
    "Fatima", "Yanis", "Manon", "Paul", "Zoé", "Adam", "Rose", "Hélène", "André", "Noël",
)  # fmt: skip


# Every name of two or three syllables (8 400 of them), drawn by index: much faster than
# composing one for each of millions of rows.
NOMS = tuple(
    [a + b for a in SYLLABES for b in SYLLABES]
    + [a + b + c for a in SYLLABES for b in SYLLABES for c in SYLLABES]
)


def nom(rng: random.Random) -> str:
    return NOMS[int(rng.random() * len(NOMS))]


# --- Writing rows ---------------------------------------------------------------------------


def fields(names: str) -> tuple[str, ...]:
    return tuple(names.split())


def next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[tuple]) -> int:
    """Write rows given in `fields` order (primary key included if named); every other column
    takes its field's default, computed once. COPY on PostgreSQL, INSERTs elsewhere."""
    opts = model._meta
    given = [opts.get_field(name) for name in fields]
    others = [f for f in opts.concrete_fields if f not in given and not f.primary_key]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in given + others)
    table = connection.ops.quote_name(opts.db_table)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *defaults))
                    count += 1
            return count
        placeholders = ", ".join(["%s"] * (len(given) + len(others)))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
        batch = []
        for row in rows:
            values = (f.get_db_prep_save(v, connection) for f, v in zip(given, row, strict=True))
            batch.append((*values, *defaults))
            if len(batch) == 1000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def drop_foreign_keys(*models_: type[models.Model]) -> list[tuple[str, str, str]]:
    """Drop the foreign keys of these tables; restore_foreign_keys adds them back, identical.

    Django makes them DEFERRABLE INITIALLY DEFERRED: PostgreSQL would queue one check per row and
    per key until COMMIT (many minutes for millions of rows). Adding a key back checks the whole
    table in one join, as PostgreSQL's documentation advises for a bulk load ("Populating a
    Database"). Same transaction as the load: on error, everything is as it was.
    """
    if connection.vendor != "postgresql":
        return []
    tables = [model._meta.db_table for model in models_]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) "
            "ORDER BY 1, 2",
            [tables],
        )
        keys = cursor.fetchall()
        # A table with checks still pending in this transaction cannot be altered: run them now
        # (SET CONSTRAINTS … IMMEDIATE does), then defer again as Django's keys expect.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, name, _definition in keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
    return keys


def restore_foreign_keys(keys: list[tuple[str, str, str]]) -> None:
    with connection.cursor() as cursor:
        for table, name, definition in keys:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            )


def reset_sequences(*models_: type[models.Model]) -> None:
    """After rows were written with their primary keys: the next row gets the next number."""
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models_)):
            cursor.execute(sql)


# --- The generation -------------------------------------------------------------------------


# The tables written in bulk.
LOADED = (
    StructurePartenaire,
    Convention,
    Convention.offres.through,
    User,
    AccountEvent,
    Demande,
    Evenement,
    SentEmail,
)


def generate(volume: Volume, step: Step = no_step) -> dict[str, int]:
    """Add `volume` to the database (empty or not) inside the caller's transaction; the counts
    written. The same seed gives the same rows (dates are relative to today)."""
    rng = random.Random(volume.seed)  # noqa: S311 (data, not secrets)
    now = timezone.now()
    today = timezone.localdate()
    per_structure = volume.accounts_per_structure
    counts: dict[str, int] = {}

    with step("organismes", f"{volume.organismes} organismes et les offres du catalogue"):
        # Half with the default 6-month purge delay, a quarter 3 months, a quarter 12 months.
        delays = [6, 6, 3, 12]
        first_organisme = next_id(Organisme)
        Organisme.objects.bulk_create(
            Organisme(
                code=f"B{first_organisme + n:04d}",
                nom=f"CPAM BENCH {first_organisme + n}",
                email_referent=f"referent{n}@cpam-bench.example",
                delai_purge_mois=delays[n % 4],
            )
            for n in range(volume.organismes)
        )
        organismes = list(Organisme.objects.filter(code__startswith="B").order_by("pk"))
        organismes = organismes[-volume.organismes :]
        three = [o for o in organismes if o.delai_purge_mois == 3]
        six = [o for o in organismes if o.delai_purge_mois == 6]
        # The catalogue's offers, as migration conventions/0002 creates them (a flush empties
        # the table); every convention activates them all.
        offres = ensure_offres()
        counts["organismes"] = volume.organismes
        # One agent de caisse per organisme, for the admin's benchmarks.
        password = make_password(BENCH_PASSWORD)  # one hash for all: hashing is not measured
        User.objects.bulk_create(
            User(
                identifiant=f"agent.{organisme.code.lower()}",
                role=Role.AGENT,
                organisme=organisme,
                civilite=Civilite.MADAME,
                nom_usuel="AGENT",
                prenom="Alice",
                fonction="Agent de caisse",
                telephone="01.00.00.00.00",
                email=f"agent@{organisme.code.lower()}.cpam-bench.example",
                password=password,
                password_changed_at=now,
            )
            for organisme in organismes
        )
        counts["agents de caisse"] = len(organismes)

    keys = drop_foreign_keys(*LOADED)
    first_structure = next_id(StructurePartenaire)
    structure_ids = list(range(first_structure, first_structure + volume.structures))
    with step("structures", f"{volume.structures} structures"):
        counts["structures"] = insert_rows(
            StructurePartenaire,
            fields("id nom siret adresse code_postal ville telephone nombre_membres created_at"),
            (
                (
                    pk,
                    f"CCAS BENCH {pk}",
                    siret(90_000_000 + pk),
                    "1 place de la Mairie",
                    "60100",
                    "Creil",
                    "03.44.00.00.00",
                    12,
                    now - datetime.timedelta(days=900),
                )
                for pk in structure_ids
            ),
        )

    conventions = []  # (id, organisme id, structure id, reference, début, fin, fin traitée le)
    demandes_convention = {}  # structure id -> (organisme id, convention id) of its demandes
    convention_id = next_id(Convention)
    for index, structure_id in enumerate(structure_ids):
        kind = structure_kind(index)
        # Shifted every hundred structures, so that the big ones (demandes_weight) are spread
        # over the organismes instead of all falling on the same one.
        organisme = organismes[(index + index // 100) % len(organismes)]
        ref = f"BENCH-{structure_id:06d}"

        def convention(org, reference, debut, fin=None, end_processed_at=None) -> int:
            nonlocal convention_id
            conventions.append(
                (convention_id, org.pk, structure_id, reference, debut, fin, end_processed_at)  # noqa: B023
            )
            convention_id += 1
            return convention_id - 1

        start = today - datetime.timedelta(days=800 + index % 300)
        if kind == "ended_yesterday_alone":
            main = convention(organisme, ref, start, today - datetime.timedelta(days=1))
        elif kind == "ended_yesterday_with_other":
            main = convention(organisme, ref, start, today - datetime.timedelta(days=1))
            convention(organismes[(index + 1) % len(organismes)], ref + "-B", start)
        elif kind == "ending_within_30_days":
            main = convention(
                organisme, ref, start, today + datetime.timedelta(days=1 + index % 30)
            )
        elif kind == "two_organismes":
            organisme = three[index % len(three)]
            main = convention(organisme, ref, start)
            convention(six[index % len(six)], ref + "-B", start)
        elif kind == "old_ended_already_handled":
            ended = today - datetime.timedelta(days=200)
            convention(
                organismes[(index + 7) % len(organismes)],
                ref + "-OLD",
                ended - datetime.timedelta(days=700),
                ended,
                now - datetime.timedelta(days=199),
            )
            main = convention(organisme, ref, start)
        else:
            main = convention(organisme, ref, start)
        demandes_convention[structure_id] = (organisme.pk, main)

    techniciens = max(per_structure - GESTIONNAIRES_PER_STRUCTURE, 1)
    with step("conventions", f"{len(conventions)} conventions, {len(offres)} offres chacune"):
        counts["conventions"] = insert_rows(
            Convention,
            fields(
                "id organisme structure reference date_debut date_fin end_processed_at "
                "max_gestionnaires max_techniciens created_at"
            ),
            ((*row, GESTIONNAIRES_PER_STRUCTURE, min(techniciens, 25), now) for row in conventions),
        )
        Through = Convention.offres.through
        insert_rows(
            Through,
            ("convention", "offre"),
            ((row[0], offre.pk) for row in conventions for offre in offres),
        )

    # Accounts: ages of passwords spread over 0–400 days (some within 15 days of the 365-day
    # expiry, some expired), 3% never set; 5% inactive for 1 month, 5% for 4, 5% for 8.
    first_account = next_id(User)
    techniciens_of: dict[int, list[int]] = {}
    accounts = []  # (id, structure id, role, email, active) for the later steps

    def account_rows():
        number = first_account
        for structure_id in structure_ids:
            for slot in range(per_structure):
                roll = rng.random()
                inactive_for = (
                    1 if roll < 0.05 else 4 if roll < 0.10 else 8 if roll < 0.15 else None
                )
                never_set = rng.random() < 0.03
                role = Role.GESTIONNAIRE if slot < GESTIONNAIRES_PER_STRUCTURE else Role.TECHNICIEN
                prenom = rng.choice(PRENOMS)
                nom_patronymique = nom(rng)
                identifiant = f"{prenom[0].lower()}.{nom_patronymique.lower()}{number}"
                email = f"{identifiant}@structure{structure_id}.example"
                accounts.append((number, structure_id, role, email, inactive_for is None))
                if role == Role.TECHNICIEN:
                    techniciens_of.setdefault(structure_id, []).append(number)
                yield (
                    number,
                    identifiant,
                    role,
                    structure_id,
                    Civilite.MADAME if number % 2 else Civilite.MONSIEUR,
                    nom_patronymique,
                    prenom,
                    "Bénévole" if slot % 3 else "Conseillère",
                    f"07.{number % 100:02d}.00.00.00",
                    email,
                    "!" if never_set else password,
                    None if never_set else now - datetime.timedelta(days=rng.randint(0, 400)),
                    inactive_for is None,
                    None
                    if inactive_for is None
                    else months_ago(now, inactive_for, rng.randint(0, 20)),
                    now - datetime.timedelta(days=800),
                    CGU_VERSION,
                    now - datetime.timedelta(days=700),
                )
                number += 1

    with step("comptes", f"{volume.structures * per_structure} comptes et leur historique"):
        counts["comptes"] = insert_rows(
            User,
            fields(
                "id identifiant role structure civilite nom_patronymique prenom "
                "fonction telephone email password password_changed_at is_active "
                "inactivated_at created_at cgu_version cgu_accepted_at"
            ),
            account_rows(),
        )
        # The history of each account starts with its creation by a gestionnaire of its
        # structure (the first one: by the fund's agent, here nobody).
        gestionnaire_of = {structure_id: pk for pk, structure_id, *_rest in accounts[::-1]}
        counts["lignes d'historique des comptes"] = insert_rows(
            AccountEvent,
            ("account", "kind", "at", "by"),
            (
                (
                    pk,
                    AccountEvent.Kind.CREATED,
                    now - datetime.timedelta(days=800),
                    None if gestionnaire_of[structure_id] == pk else gestionnaire_of[structure_id],
                )
                for pk, structure_id, *_rest in accounts
            ),
        )

    if volume.demandes:
        with step("demandes", f"{volume.demandes} demandes et leur chronologie"):
            counts |= generate_demandes(
                volume, rng, now, structure_ids, demandes_convention, techniciens_of, offres
            )

    emails = (
        (
            "accounts/invitation",
            email,
            "Créez votre mot de passe",
            pk,
            SentEmail.Status.SENT,
            1,
            now - datetime.timedelta(days=rng.randint(0, 730)),
        )
        for pk, _structure, _role, email, _active in accounts
        for _n in range(EMAIL_LOG_ROWS_PER_ACCOUNT)
    )
    with step("journal des e-mails", f"{len(accounts) * 2} e-mails journalisés sur 24 mois"):
        counts["e-mails journalisés"] = insert_rows(
            SentEmail,
            ("template", "recipient", "subject", "account", "status", "attempts", "created_at"),
            emails,
        )

    with step("clés étrangères", f"{len(keys)} remises, vérifiées en une fois par table"):
        restore_foreign_keys(keys)
    with step("séquences et ANALYZE", ""):
        reset_sequences(StructurePartenaire, Convention, User, Demande, Evenement)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    return counts


def ensure_offres() -> list[Offre]:
    """The offers under which a demande can be made, as the migration creates them."""
    from importlib import import_module

    frozen = import_module("conventions.migrations.0002_offres_de_service").OFFRES
    for ordre, (code, libelle) in enumerate(frozen, start=1):
        Offre.objects.get_or_create(code=code, defaults={"libelle": libelle, "ordre": ordre})
    return list(Offre.objects.filter(code__in=catalogue.MOTIFS).order_by("ordre"))


# How often each offer is used, and the urgent categories.
OFFRE_WEIGHTS = {
    catalogue.CONTACTER: 25,
    catalogue.ETUDE_DOSSIER: 30,
    catalogue.DIFFICULTE_ACCES: 5,
    catalogue.RENDEZ_VOUS: 20,
    catalogue.DOCUMENT: 20,
}
DEPARTEMENTS = ("60", "33", "75", "13", "69", "59", "971", "2A")


def generate_demandes(
    volume: Volume,
    rng: random.Random,
    now: datetime.datetime,
    structure_ids: list[int],
    demandes_convention: dict[int, tuple[int, int]],
    techniciens_of: dict[int, list[int]],
    offres: list[Offre],
) -> dict[str, int]:
    """Demandes over the last 730 days, oldest first (ids follow time, as in production), and
    their timelines: the older a demande, the further it went."""
    offre_by_code = {offre.code: offre.pk for offre in offres}
    codes = [code for code in OFFRE_WEIGHTS if code in offre_by_code]
    weights = [OFFRE_WEIGHTS[code] for code in codes]
    motifs = {code: [m for m, _label in catalogue.MOTIFS[code]] for code in codes}
    urgences = [code for code, _label in catalogue.URGENCES]
    shares = [demandes_weight(index) for index in range(len(structure_ids))]
    span = datetime.timedelta(days=730).total_seconds()

    first_demande, first_evenement = next_id(Demande), next_id(Evenement)
    counters: dict[int, int] = {
        c.year: c.last for c in ReferenceCounter.objects.select_for_update()
    }
    demandes_written = evenements_written = 0
    evenement_id = first_evenement
    total = volume.demandes
    paris = timezone.get_current_timezone()
    done = 0
    while done < total:
        size = min(COPY_CHUNK, total - done)
        # Drawn for the whole chunk at once: one call instead of one per row.
        structures = rng.choices(structure_ids, weights=shares, k=size)
        chunk_codes = rng.choices(codes, weights, k=size)
        demande_rows, evenement_rows = [], []
        for n in range(size):
            pk = first_demande + done + n
            structure_id = structures[n]
            organisme_id, convention_id = demandes_convention[structure_id]
            auteurs = techniciens_of.get(structure_id) or [None]
            auteur = auteurs[pk % len(auteurs)]
            age = span * (total - done - n) / total  # seconds before now, decreasing with pk
            created = now - datetime.timedelta(seconds=age - rng.random() * 60)
            year = created.astimezone(paris).year
            counters[year] = counters.get(year, 0) + 1
            code = chunk_codes[n]
            urgent = rng.random() < 0.05
            days = age / 86400
            roll = rng.random()
            # Where it is now: closed when old enough, mostly; recent ones still under way.
            if (days > 30 and roll < 0.9) or (days > 7 and roll < 0.5):
                statut = Statut.CLOTUREE
            elif roll < 0.7:
                statut = Statut.EN_COURS
            elif roll < 0.8:
                statut = Statut.COMPLEMENT_DEMANDE
            else:
                statut = Statut.ENVOYEE
            timeline = [(Evenement.Kind.CREEE, "", "", False, auteur, created)]
            step_at = created
            if statut != Statut.ENVOYEE:
                step_at += datetime.timedelta(hours=rng.randint(2, 72))
                timeline.append((Evenement.Kind.STATUT, Statut.EN_COURS, "", True, None, step_at))
            if statut == Statut.COMPLEMENT_DEMANDE or (statut == Statut.CLOTUREE and roll < 0.2):
                step_at += datetime.timedelta(hours=rng.randint(2, 48))
                timeline.append(
                    (
                        Evenement.Kind.STATUT,
                        Statut.COMPLEMENT_DEMANDE,
                        "Merci de joindre l'avis d'imposition.",
                        True,
                        None,
                        step_at,
                    )
                )
                if statut == Statut.CLOTUREE:
                    step_at += datetime.timedelta(hours=rng.randint(2, 48))
                    timeline.append(
                        (
                            Evenement.Kind.STATUT,
                            Statut.COMPLEMENT_FOURNI,
                            "Voici l'avis demandé.",
                            False,
                            auteur,
                            step_at,
                        )
                    )
            closed_at = None
            reponse = ""
            if statut == Statut.CLOTUREE:
                step_at += datetime.timedelta(hours=rng.randint(2, 240))
                closed_at = min(step_at, now)
                reponse = "Dossier traité : l'assuré recevra un courrier."
                timeline.append(
                    (Evenement.Kind.STATUT, Statut.CLOTUREE, reponse, True, None, closed_at)
                )
            demande_rows.append(
                (
                    pk,
                    f"EP-{year}-{counters[year]:06d}",
                    offre_by_code[code],
                    rng.choice(motifs[code]),
                    structure_id,
                    organisme_id,
                    convention_id,
                    auteur,
                    Civilite.MADAME if roll < 0.5 else Civilite.MONSIEUR,
                    nom(rng),
                    rng.choice(PRENOMS),
                    datetime.date(1930 + pk % 75, 1 + pk % 12, 1 + pk % 28),
                    rng.choice(DEPARTEMENTS),
                    "Assuré accompagné par la structure.",
                    True,
                    urgent,
                    rng.choice(urgences) if urgent else "",
                    statut,
                    reponse,
                    created,
                    min(step_at, now),
                    closed_at,
                )
            )
            for kind, new_statut, message, de_l_organisme, author, at in timeline:
                evenement_rows.append(
                    (evenement_id, pk, kind, new_statut, message, de_l_organisme, author, at)
                )
                evenement_id += 1
        demandes_written += insert_rows(
            Demande,
            fields(
                "id reference offre motif structure organisme convention auteur "
                "civilite nom prenom date_naissance departement commentaire "
                "consentement urgent categorie_urgence statut reponse created_at "
                "updated_at closed_at"
            ),
            demande_rows,
        )
        evenements_written += insert_rows(
            Evenement,
            ("id", "demande", "kind", "statut", "message", "de_l_organisme", "auteur", "at"),
            evenement_rows,
        )
        done += size

    # New demandes continue the numbering of each year.
    for year, last in counters.items():
        ReferenceCounter.objects.update_or_create(year=year, defaults={"last": last})
    return {"demandes": demandes_written, "événements": evenements_written}
