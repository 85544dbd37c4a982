"""Benchmark of the scheduled jobs (SPEC §6) on a realistic volume: docs/performance.md.

    DATABASE_URL=postgres://…/espace_partenaires_bench python -m bench.jobs [--accounts 100000]

PostgreSQL is the target. The database is EMPTIED first (every table is flushed), so the script
refuses a database whose name does not contain "bench". It then generates, with bulk inserts,
10 accounts per structure (2 gestionnaires, 8 techniciens) and their conventions, demandes and
e-mail log, runs each job twice (the real run, then a second one that must find nothing left to
do) and prints, for each, the time and the number of SQL queries. E-mails go to Django's locmem
backend and Celery tasks run eagerly (in the job's thread), so neither an SMTP server nor a broker
is needed; the time of a job therefore includes rendering and "sending" its e-mails.

--write-doc replaces the figures of docs/performance.md with those of this run.
"""

import argparse
import datetime
import os
import platform
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/jobs.py` as well as `python -m bench.jobs`
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_partenaires.settings")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
os.environ.setdefault("LOG_LEVEL", "WARNING")  # not a line per e-mail; the reports are printed

import django  # noqa: E402
from celery.signals import task_postrun, task_prerun  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.cgu import CGU_VERSION  # noqa: E402
from accounts.models import Civilite, Role, User  # noqa: E402
from conventions.models import Convention, Offre  # noqa: E402
from demandes.models import Demande, Evenement, Statut  # noqa: E402
from espace_partenaires.celery import app as celery_app  # noqa: E402
from notifications.models import SentEmail  # noqa: E402
from organismes.models import Organisme, StructurePartenaire  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
BATCH = 5_000
ACCOUNTS_PER_STRUCTURE = 10  # 2 gestionnaires, 8 techniciens
ORGANISMES = 100
EMAIL_LOG_ROWS_PER_ACCOUNT = 2  # over the last 24 months: about half older than the retention

# The jobs, in the order beat runs them in the night (settings.JOB_TIME_*).
JOBS = (
    ("end_conventions", "accounts.jobs", "end_conventions"),
    ("purge_inactive_accounts", "accounts.jobs", "purge_inactive_accounts"),
    ("purge_sent_email_log", "notifications.jobs", "purge_sent_email_log"),
    ("warn_convention_ends", "conventions.jobs", "warn_convention_ends"),
    ("remind_password_expiry", "accounts.jobs", "remind_password_expiry"),
)


# --- Measuring ------------------------------------------------------------------------------


@dataclass
class Measure:
    label: str
    seconds: float = 0.0
    queries: int = 0  # all of them, the e-mail tasks' included
    task_queries: int = 0  # made by the Celery tasks that send the e-mails (run eagerly here)
    task_seconds: float = 0.0
    emails: int = 0
    detail: str = ""


@contextmanager
def measured(label: str, detail: str = "", into: list | None = None):
    """Time a block and count its SQL statements (an executemany counts once)."""
    measure = Measure(label, detail=detail)
    if into is not None:
        into.append(measure)

    def count(execute, sql, params, many, context):
        measure.queries += 1
        if _in_task:
            measure.task_queries += 1
        return execute(sql, params, many, context)

    sent_before = len(getattr(mail, "outbox", []))
    tasks_before = _task_seconds[0]
    start = time.perf_counter()
    with connection.execute_wrapper(count):
        yield measure
    measure.seconds = time.perf_counter() - start
    measure.task_seconds = _task_seconds[0] - tasks_before
    measure.emails = len(getattr(mail, "outbox", [])) - sent_before
    print(
        f"  {label:<34} {measure.seconds:8.2f} s {measure.queries:7d} queries "
        f"(of which e-mail tasks: {measure.task_seconds:6.2f} s {measure.task_queries:6d} queries)"
        f" {measure.emails:6d} e-mails",
        flush=True,
    )


# Which queries the eager Celery tasks make: in production, the workers make them, not the job.
_in_task = False
_task_seconds = [0.0]
_task_started = [0.0]


@task_prerun.connect
def _task_starts(**kwargs):
    global _in_task
    _in_task = True
    _task_started[0] = time.perf_counter()


@task_postrun.connect
def _task_ends(**kwargs):
    global _in_task
    _in_task = False
    _task_seconds[0] += time.perf_counter() - _task_started[0]


@contextmanager
def without_auto_now(*fields):
    """Let bulk_create write the dates we give to auto_now(_add) fields: the data has a past."""
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


# --- Data -----------------------------------------------------------------------------------


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
        return "ended_yesterday_alone"  # end_conventions inactivates its 10 accounts
    if rank < 8:
        return "ended_yesterday_with_other"  # ...but another convention is en cours: nothing
    if rank < 13:
        return "ending_within_30_days"  # warn_convention_ends writes to it
    if rank < 33:
        return "two_organismes"  # purge delays 3 and 6 months: the shortest (3) applies
    if rank < 53:
        return "old_ended_already_handled"  # an ended convention the job dealt with long ago
    return "one_convention"


def generate(total_accounts: int, steps: list[Measure], seed: int = 2026) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 (data, not secrets)
    now = timezone.now()
    today = timezone.localdate()
    structures_count = total_accounts // ACCOUNTS_PER_STRUCTURE
    password = make_password("Bench-Mot-De-Passe-2026")  # one hash for all: hashing is not measured

    with measured("organismes", f"{ORGANISMES} organismes, 1 offre", into=steps):
        # Half with the default 6-month purge delay, a quarter 3 months, a quarter 12 months.
        delays = [6, 6, 3, 12]
        Organisme.objects.bulk_create(
            Organisme(
                code=f"B{n:03d}",
                nom=f"CPAM BENCH {n}",
                email_referent=f"referent{n}@cpam-bench.example",
                delai_purge_mois=delays[n % 4],
            )
            for n in range(ORGANISMES)
        )
        organismes = list(Organisme.objects.order_by("code"))
        three = [o for o in organismes if o.delai_purge_mois == 3]
        six = [o for o in organismes if o.delai_purge_mois == 6]
        offre, _created = Offre.objects.get_or_create(
            code="bench", defaults={"libelle": "Offre du benchmark"}
        )

    with measured("structures", f"{structures_count} structures", into=steps):
        StructurePartenaire.objects.bulk_create(
            (
                StructurePartenaire(
                    nom=f"CCAS BENCH {n}",
                    siret=siret(90_000_000 + n),
                    adresse="1 place de la Mairie",
                    code_postal="60100",
                    ville="Creil",
                    telephone="03.44.00.00.00",
                    nombre_membres=12,
                )
                for n in range(structures_count)
            ),
            batch_size=BATCH,
        )
        structure_ids = list(
            StructurePartenaire.objects.order_by("pk").values_list("pk", flat=True)
        )

    conventions = []
    main_convention = {}  # structure id -> (organisme, reference) of the convention of demandes
    for index, structure_id in enumerate(structure_ids):
        kind = structure_kind(index)
        organisme = organismes[index % ORGANISMES]
        ref = f"BENCH-{index:06d}"

        def convention(org, reference, debut, fin=None, **extra):
            conventions.append(
                Convention(
                    organisme=org,
                    structure_id=structure_id,  # noqa: B023 (used at once)
                    reference=reference,
                    date_debut=debut,
                    date_fin=fin,
                    max_gestionnaires=2,
                    max_techniciens=8,
                    **extra,
                )
            )

        start = today - datetime.timedelta(days=400 + index % 300)
        if kind == "ended_yesterday_alone":
            convention(organisme, ref, start, today - datetime.timedelta(days=1))
        elif kind == "ended_yesterday_with_other":
            convention(organisme, ref, start, today - datetime.timedelta(days=1))
            convention(organismes[(index + 1) % ORGANISMES], ref + "-B", start)
        elif kind == "ending_within_30_days":
            convention(organisme, ref, start, today + datetime.timedelta(days=1 + index % 30))
        elif kind == "two_organismes":
            convention(three[index % len(three)], ref, start)
            convention(six[index % len(six)], ref + "-B", start)
            organisme = three[index % len(three)]
        elif kind == "old_ended_already_handled":
            ended = today - datetime.timedelta(days=200)
            convention(
                organismes[(index + 7) % ORGANISMES],
                ref + "-OLD",
                ended - datetime.timedelta(days=700),
                ended,
                fin_traitee_le=now - datetime.timedelta(days=199),
            )
            convention(organisme, ref, ended + datetime.timedelta(days=1))
        else:
            convention(organisme, ref, start)
        main_convention[structure_id] = (organisme.pk, ref)

    with measured("conventions", f"{len(conventions)} conventions", into=steps):
        Convention.objects.bulk_create(conventions, batch_size=BATCH)
        convention_ids = {
            (org, ref): pk
            for pk, org, ref in Convention.objects.values_list("pk", "organisme_id", "reference")
        }

    # Accounts: ages of passwords spread over 0–400 days (some within 15 days of the 365-day
    # expiry, some expired), 3% never set; 5% inactive for 1 month, 5% for 4, 5% for 8.
    users = []
    number = 0
    for structure_id in structure_ids:
        for slot in range(ACCOUNTS_PER_STRUCTURE):
            roll = rng.random()
            inactive_for = 1 if roll < 0.05 else 4 if roll < 0.10 else 8 if roll < 0.15 else None
            never_set = rng.random() < 0.03
            users.append(
                User(
                    identifiant=f"bench.{number}",
                    role=Role.GESTIONNAIRE if slot < 2 else Role.TECHNICIEN,
                    structure_id=structure_id,
                    civilite=Civilite.MADAME if number % 2 else Civilite.MONSIEUR,
                    nom_patronymique=f"NOM{number}",
                    prenom="Camille",
                    fonction="Bénévole",
                    telephone="07.00.00.00.00",
                    email=f"compte{number}@structure{structure_id}.example",
                    password="!" if never_set else password,
                    password_changed_at=(
                        None if never_set else now - datetime.timedelta(days=rng.randint(0, 400))
                    ),
                    is_active=inactive_for is None,
                    inactivated_at=(
                        None
                        if inactive_for is None
                        else months_ago(now, inactive_for, rng.randint(0, 20))
                    ),
                    created_at=now - datetime.timedelta(days=800),
                    cgu_version=CGU_VERSION,
                    cgu_accepted_at=now - datetime.timedelta(days=700),
                )
            )
            number += 1

    with measured("comptes", f"{len(users)} comptes", into=steps):
        User.objects.bulk_create(users, batch_size=BATCH)
        accounts = list(
            User.objects.filter(identifiant__startswith="bench.")
            .order_by("pk")
            .values_list("pk", "structure_id", "role", "email")
        )

    # Demandes: one by every fifth technicien (inactive ones included: the purge keeps them).
    demandes = []
    authors = []
    for n, (pk, structure_id, role, _email) in enumerate(accounts):
        if role != Role.TECHNICIEN or n % 5:
            continue
        organisme_id, ref = main_convention[structure_id]
        demandes.append(
            Demande(
                reference=f"BENCH{n:09d}",
                offre=offre,
                motif="bench",
                structure_id=structure_id,
                organisme_id=organisme_id,
                convention_id=convention_ids[(organisme_id, ref)],
                auteur_id=pk,
                civilite=Civilite.MADAME,
                nom="ASSURE",
                prenom="Claude",
                date_naissance=datetime.date(1960, 1, 1),
                departement="60",
                consentement=True,
                statut=Statut.ENVOYEE,
                created_at=now - datetime.timedelta(days=n % 600),
            )
        )
        authors.append(pk)

    with measured("demandes", f"{len(demandes)} demandes et leur événement", into=steps):
        Demande.objects.bulk_create(demandes, batch_size=BATCH)
        Evenement.objects.bulk_create(
            (
                Evenement(demande_id=demande_id, kind=Evenement.Kind.CREEE, auteur_id=author_id)
                for demande_id, author_id in Demande.objects.filter(
                    reference__startswith="BENCH"
                ).values_list("pk", "auteur_id")
            ),
            batch_size=BATCH,
        )

    emails = [
        SentEmail(
            template="accounts/invitation",
            recipient=email,
            subject="Créez votre mot de passe",
            account_id=pk,
            status=SentEmail.Status.SENT,
            attempts=1,
            created_at=now - datetime.timedelta(days=rng.randint(0, 730)),
        )
        for pk, _structure, _role, email in accounts
        for _n in range(EMAIL_LOG_ROWS_PER_ACCOUNT)
    ]
    with (
        measured(
            "journal des e-mails", f"{len(emails)} e-mails journalisés sur 24 mois", into=steps
        ),
        without_auto_now(SentEmail._meta.get_field("created_at")),
    ):
        SentEmail.objects.bulk_create(emails, batch_size=BATCH)

    with measured("ANALYZE", into=steps):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    return {
        "organismes": ORGANISMES,
        "structures": structures_count,
        "conventions": len(conventions),
        "comptes": len(users),
        "demandes": len(demandes),
        "e-mails journalisés": len(emails),
    }


# --- Jobs -----------------------------------------------------------------------------------


def load_jobs():
    """The job functions, or the names of the modules that do not provide them yet."""
    import importlib

    jobs, missing = [], []
    for label, module_name, function_name in JOBS:
        try:
            function = getattr(importlib.import_module(module_name), function_name)
        except (ImportError, AttributeError):
            missing.append(f"{module_name}.{function_name}")
            continue
        jobs.append((label, function))
    return jobs, missing


def state() -> dict[str, int]:
    return {
        "comptes actifs": User.objects.filter(is_active=True).count(),
        "comptes": User.objects.count(),
        "e-mails journalisés": SentEmail.objects.count(),
    }


def summary(report) -> str:
    text = " ".join(str(report).split())
    return text if len(text) <= 110 else text[:107] + "..."


def run_jobs(jobs) -> list[Measure]:
    measures = []
    for run in (1, 2):
        print(f"\nJobs, run {run}{' (nothing left to do: idempotence)' if run == 2 else ''}:")
        for label, function in jobs:
            with measured(f"{label} #{run}") as measure:
                report = function(dry_run=False)
            measure.detail = summary(report)
            print(f"    report: {measure.detail}")
            measures.append(measure)
    return measures


# --- Output ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            database = f"{connection.vendor} {connection.Database.sqlite_version}"
    return {
        "processeurs": f"{os.cpu_count()} × {cpu} (nproc : {os.cpu_count()})",
        "mémoire": f"{memory_kb / 1024 / 1024:.1f} Gio",
        "système": platform.platform(),
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "base": database + " (même machine, configuration par défaut)",
    }


def table(measures: list[Measure], jobs: bool) -> list[str]:
    if not jobs:
        lines = ["| Étape | Durée (s) | Requêtes SQL | Lignes |", "|---|---:|---:|---|"]
        lines += [f"| {m.label} | {m.seconds:.2f} | {m.queries} | {m.detail} |" for m in measures]
        return lines
    lines = [
        "| Tâche | Durée totale (s) | Requêtes SQL | dont envoi des e-mails (s / requêtes) "
        "| Tâche seule (s / requêtes) | E-mails | Rapport |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in measures:
        lines.append(
            f"| {m.label} | {m.seconds:.2f} | {m.queries} "
            f"| {m.task_seconds:.2f} / {m.task_queries} "
            f"| {m.seconds - m.task_seconds:.2f} / {m.queries - m.task_queries} "
            f"| {m.emails} | {m.detail.replace('|', '/')} |"
        )
    return lines


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def write_doc(info, counts, generation, job_measures, missing, before, after, command: str) -> None:
    lines = [
        BEGIN,
        f"Mesuré le {timezone.localtime():%d/%m/%Y à %H:%M} avec `{command}`.",
        "",
        "**Machine** : " + " ; ".join(f"{k} : {v}" for k, v in info.items()) + ".",
        "",
        "**Données** : " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ".",
        "",
        "### Génération des données (insertions en masse)",
        "",
        *table(generation, jobs=False),
        "",
        "### Tâches planifiées",
        "",
    ]
    if job_measures:
        lines += [
            "Chaque tâche tourne deux fois : #1 fait le travail, #2 ne doit plus rien trouver.",
            "",
            *table(job_measures, jobs=True),
            "",
            "État de la base avant / après : "
            + ", ".join(f"{k} {before[k]} → {after[k]}" for k in before)
            + ".",
        ]
    if missing:
        lines += [
            "",
            "Non mesurées (fonctions absentes au moment de la mesure) : "
            + ", ".join(f"`{name}`" for name in missing)
            + ".",
        ]
    lines.append(END)
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + "\n".join(lines) + text[end:])
    print(f"\n{DOC.relative_to(ROOT)} updated.")


# --- Main -----------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--write-doc", action="store_true", help="update docs/performance.md")
    parser.add_argument(
        "--generate-only", action="store_true", help="generate the data, run no job"
    )
    args = parser.parse_args(argv)

    name = str(settings.DATABASES["default"]["NAME"])
    if "bench" not in Path(name).name:
        print(f"Refused: the database {name!r} would be emptied; its name must contain 'bench'.")
        return 2
    if connection.vendor != "postgresql":
        print(f"Warning: {connection.vendor}; the figures of docs/performance.md are PostgreSQL's.")

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    mail.outbox = []

    print(f"Generating {args.accounts} accounts on {connection.vendor} ({name}):")
    with override_settings(
        DEBUG=False,
        MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}},
    ):
        generation: list[Measure] = []
        with measured("total de la génération") as total, transaction.atomic():
            counts = generate(args.accounts, generation)
        generation.append(total)
        jobs, missing = ([], []) if args.generate_only else load_jobs()
        if missing:
            print("\nJob functions not available yet: " + ", ".join(missing))
        before = state()
        job_measures = run_jobs(jobs) if jobs else []
        after = state()
    print(
        "\nState before / after the jobs: "
        + ", ".join(f"{k} {before[k]} → {after[k]}" for k in before)
    )

    if args.write_doc:
        command = (
            "DATABASE_URL=postgres://…/espace_partenaires_bench .venv/bin/python -m bench.jobs"
        )
        if args.accounts != 100_000:
            command += f" --accounts {args.accounts}"
        command += " --write-doc"
        write_doc(machine(), counts, generation, job_measures, missing, before, after, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
