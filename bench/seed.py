"""Empty the database, generate the national volume (bench/dataset.py), and time each step; with
--write-doc, write the steps to docs/performance.md.

    DATABASE_URL=postgres://…/espace_partenaires_bench_scale python -m bench.seed [--write-doc]
        [--organismes N] [--structures N] [--accounts N] [--demandes N] [--seed N]

The database is EMPTIED first: its name must contain "bench". The same seed gives the same data.
Not a management command on purpose: nothing that empties a database ships with the portal.
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_partenaires.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# A command of the bench, not a portal: the production settings without their key.
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import dataset  # noqa: E402
from bench.doc import write_doc  # noqa: E402

DEFAULT = dataset.Volume()


class Refused(Exception):
    pass


def seed_national(volume: dataset.Volume, stdout=sys.stdout) -> float:
    """Empty the database and generate `volume`; each step is printed as
    "  <label, 24 columns> <seconds> s  <rows>". Returns the seconds taken."""
    if refusal := dataset.refusal_to_empty():
        raise Refused(f"Refusé : {refusal}")
    call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    with transaction.atomic():
        counts = dataset.generate(volume, lambda label, detail="": _Timed(stdout, label, detail))
    with _Timed(stdout, "VACUUM ANALYZE", "tables chargées"):
        vacuum(dataset.LOADED)
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{count} {label}" for label, count in counts.items())
    stdout.write(f"Généré en {elapsed:.0f} s : {summary}.\n")
    return elapsed


def vacuum(models) -> None:
    """What autovacuum does some time after a load: statistics for the planner, and the
    visibility map that lets index-only scans skip the table (outside any transaction)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return  # (called inside a transaction: by the tests)
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")


class _Timed:
    def __init__(self, stdout, label: str, detail: str):
        self.stdout, self.label, self.detail = stdout, label, detail

    def __enter__(self):
        self.started = time.perf_counter()

    def __exit__(self, *exc_info):
        seconds = time.perf_counter() - self.started
        self.stdout.write(f"  {self.label:<24} {seconds:7.1f} s  {self.detail}\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-doc", action="store_true", help="update docs/performance.md")
    for name in ("organismes", "structures", "accounts", "demandes", "seed"):
        parser.add_argument(f"--{name}", type=int, default=getattr(DEFAULT, name))
    args = parser.parse_args(argv)
    volume = dataset.Volume(
        organismes=args.organismes,
        structures=args.structures,
        accounts=args.accounts,
        demandes=args.demandes,
        seed=args.seed,
    )

    call_command("migrate", verbosity=0)
    output = io.StringIO()
    at = timezone.localtime()
    try:
        elapsed = seed_national(volume, output)
    except Refused as refusal:
        print(refusal, file=sys.stderr)
        return 2
    print(output.getvalue())
    if args.write_doc:
        steps = [(line[2:26].strip(), line[26:].strip()) for line in output.getvalue().splitlines()]
        options = " ".join(argv if argv is not None else sys.argv[1:]).replace("--write-doc", "")
        command = " ".join(["python -m bench.seed", options.strip()]).strip()
        lines = [
            f"Mesuré le {at:%d/%m/%Y à %H:%M} : `{command}` en **{elapsed:.0f} s** "
            f"({elapsed / 60:.1f} min), `flush` compris.",
            "",
            "| Étape | Durée et lignes |",
            "|---|---|",
            *(
                f"| {label} | {rest} |"
                for label, rest in steps
                if label and rest.split(" ")[1:2] == ["s"]
            ),
            "",
            output.getvalue().strip().splitlines()[-1],
        ]
        write_doc("bench-seed", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
