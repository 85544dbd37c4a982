"""National volume for the benchmarks (docs/performance.md): the database is emptied first."""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from bench import dataset

DEFAULT = dataset.Volume()


class Command(BaseCommand):
    help = (
        "Vide la base puis génère un volume national (organismes, structures, conventions, "
        "comptes, demandes et leur chronologie), identique pour une même graine. Refuse une base "
        "dont le nom ne contient pas « bench »."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organismes", type=int, default=DEFAULT.organismes)
        parser.add_argument("--structures", type=int, default=DEFAULT.structures)
        parser.add_argument("--accounts", type=int, default=DEFAULT.accounts)
        parser.add_argument("--demandes", type=int, default=DEFAULT.demandes)
        parser.add_argument("--seed", type=int, default=DEFAULT.seed)

    def handle(self, *args, **options):
        if refusal := dataset.refusal_to_empty():
            raise CommandError(f"Refusé : {refusal}")
        volume = dataset.Volume(
            organismes=options["organismes"],
            structures=options["structures"],
            accounts=options["accounts"],
            demandes=options["demandes"],
            seed=options["seed"],
        )
        call_command("flush", interactive=False, verbosity=0)
        started = time.perf_counter()
        with transaction.atomic():
            counts = dataset.generate(volume, self.step)
        with self.step("VACUUM ANALYZE", "tables chargées"):
            vacuum(dataset.LOADED)
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{count} {label}" for label, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Généré en {elapsed:.0f} s : {summary}."))

    def step(self, label: str, detail: str = ""):
        return _Timed(self.stdout, label, detail)


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
        self.stdout.write(f"  {self.label:<24} {seconds:7.1f} s  {self.detail}")
