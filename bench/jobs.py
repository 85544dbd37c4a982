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
import os
import platform
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
# A command of the bench, not a portal: the production settings without their key.
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)

import django  # noqa: E402
from celery.signals import task_postrun, task_prerun  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from bench import dataset  # noqa: E402
from bench.doc import write_doc  # noqa: E402
from espace_partenaires.celery import app as celery_app  # noqa: E402
from notifications.models import SentEmail  # noqa: E402

# The jobs' own volume (figures of docs/performance.md, "Tâches planifiées"); --national runs
# them on the data of `python -m bench.seed` instead.
JOBS_VOLUME = dataset.Volume(structures=10_000, accounts=100_000, demandes=100_000)


def night_jobs() -> list[tuple[str, str, str]]:
    """(label, module, function) of every daily job of the beat schedule, in the order beat runs
    them (settings.JOB_TIME_*): taken from espace_partenaires.celery.DAILY_JOBS, so a new job is
    measured without anyone remembering to add it here. A task `app.tasks.name` runs the job
    `app.jobs.name`."""
    from espace_partenaires.celery import DAILY_JOBS

    jobs = []
    by_time = sorted(DAILY_JOBS.values(), key=lambda entry: getattr(settings, entry[1]))
    for task, _setting in by_time:
        app_label, _, function = task.rsplit(".", 2)
        jobs.append((function, f"{app_label}.jobs", function))
    return jobs


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


# --- Jobs -----------------------------------------------------------------------------------


def load_jobs():
    """The job functions, or the names of the modules that do not provide them yet."""
    import importlib

    jobs, missing = [], []
    for label, module_name, function_name in night_jobs():
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


BLOCK, NATIONAL_BLOCK = "bench", "bench-jobs-national"


def write_results(
    info, counts, generation, job_measures, missing, before, after, command: str, block: str
) -> None:
    lines = [
        f"Mesuré le {timezone.localtime():%d/%m/%Y à %H:%M} avec `{command}`.",
        "",
        "**Machine** : " + " ; ".join(f"{k} : {v}" for k, v in info.items()) + ".",
        "",
        "**Données** : " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ".",
        "",
    ]
    if generation:
        lines += [
            "### Génération des données (insertions en masse)",
            "",
            *table(generation, jobs=False),
            "",
        ]
    lines += ["### Tâches planifiées", ""]
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
    write_doc(block, lines)


# --- Main -----------------------------------------------------------------------------------


def current_counts() -> dict[str, int]:
    """What the database holds (--national: the data of bench.seed, not generated here)."""
    from conventions.models import Convention
    from demandes.models import Demande
    from organismes.models import Organisme, StructurePartenaire

    return {
        "organismes": Organisme.objects.count(),
        "structures": StructurePartenaire.objects.count(),
        "conventions": Convention.objects.count(),
        "comptes": User.objects.count(),
        "demandes": Demande.objects.count(),
        "e-mails journalisés": SentEmail.objects.count(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=JOBS_VOLUME.accounts)
    parser.add_argument(
        "--national",
        action="store_true",
        help="run the jobs on the data already there (python -m bench.seed), generate nothing",
    )
    parser.add_argument("--write-doc", action="store_true", help="update docs/performance.md")
    parser.add_argument(
        "--generate-only", action="store_true", help="generate the data, run no job"
    )
    args = parser.parse_args(argv)

    name = str(settings.DATABASES["default"]["NAME"])
    if refusal := dataset.refusal_to_empty():
        print(f"Refused: {refusal}")
        return 2
    if connection.vendor != "postgresql":
        print(f"Warning: {connection.vendor}; the figures of docs/performance.md are PostgreSQL's.")

    call_command("migrate", verbosity=0)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    mail.outbox = []

    with override_settings(
        DEBUG=False,
        MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}},
    ):
        generation: list[Measure] = []
        if args.national:
            counts = current_counts()
            print(f"Jobs on the data already in {name}: {counts}")
        else:
            call_command("flush", interactive=False, verbosity=0)
            volume = dataset.Volume(
                structures=args.accounts // 10,
                accounts=args.accounts,
                demandes=args.accounts * JOBS_VOLUME.demandes // JOBS_VOLUME.accounts,
            )
            print(f"Generating {volume} on {connection.vendor} ({name}):")

            def step(label: str, detail: str = ""):
                return measured(label, detail, into=generation)

            with measured("total de la génération") as total, transaction.atomic():
                counts = dataset.generate(volume, step)
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
        if args.national:
            command += " --national"
        elif args.accounts != JOBS_VOLUME.accounts:
            command += f" --accounts {args.accounts}"
        command += " --write-doc"
        block = NATIONAL_BLOCK if args.national else BLOCK
        write_results(
            machine(), counts, generation, job_measures, missing, before, after, command, block
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
