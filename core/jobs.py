"""What the scheduled jobs share: their dry run and the shape of their reports."""

from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import QuerySet


@dataclass
class JobReport:
    """Counts only: a report is logged and returned by the Celery task, never personal data."""

    dry_run: bool

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.as_dict().items())


class _DryRunRollback(Exception):
    pass


def run_job[R: JobReport](job: Callable[[], R], *, dry_run: bool) -> R:
    """Run `job`; in a dry run, inside a transaction that is rolled back.

    The dry run does exactly what the real run would, so its report is the real one; the rollback
    undoes the writes and drops the e-mails (they are sent only after a commit).
    """
    if not dry_run:
        return job()
    report = None
    try:
        with transaction.atomic():
            report = job()
            raise _DryRunRollback
    except _DryRunRollback:
        pass
    return report


def for_each_locked_batch(queryset: QuerySet, process: Callable[[list], None], size: int) -> None:
    """Take the rows of `queryset` by primary key, `size` at a time, each batch locked with
    SKIP LOCKED in its own transaction, and hand it to `process` (which must make the rows leave
    the queryset, or the next run would take them again). Two runs at once share the rows."""
    last_pk = 0
    while True:
        with transaction.atomic():
            locked = list(
                queryset.filter(pk__gt=last_pk)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")[:size]
            )
            if not locked:
                return
            last_pk = locked[-1].pk
            # The rows are ours now, but the statement that locked them read the other tables as
            # they were when it began: a run that committed meanwhile may have made a row leave
            # the queryset through another table (a review already asked, an e-mail already
            # written), and its lock was gone by the time this one reached the row. A new
            # statement sees what was committed (READ COMMITTED): only what still matches.
            batch = list(queryset.filter(pk__in=[row.pk for row in locked]).order_by("pk"))
            if batch:
                process(batch)
        if len(locked) < size:
            return


def delete_in_batches(queryset: QuerySet, size: int) -> int:
    """Delete the rows of `queryset`, `size` at a time: their primary keys, then a DELETE that
    repeats the queryset's condition, so that a row changed since it was picked (a pré-inscription
    decided while the purge runs) no longer matches and stays. Two runs at once may pick the same
    rows: deleting a deleted row is a no-op. Returns how many rows of the queryset's model went.
    """
    label = queryset.model._meta.label
    deleted = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return deleted
        _total, by_model = queryset.filter(pk__in=ids).delete()
        deleted += by_model.get(label, 0)
        if len(ids) < size:
            return deleted


class JobCommand(BaseCommand):
    """A management command that runs one job; --dry-run shows what it would do."""

    job: Callable[..., JobReport]

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Afficher ce que la tâche ferait, sans rien modifier ni envoyer.",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        report = type(self).job(dry_run=dry_run)
        if dry_run:
            self.stdout.write("Simulation (--dry-run) : rien n'a été modifié ni envoyé.")
        for name, value in report.as_dict().items():
            if name != "dry_run":
                self.stdout.write(f"{name} : {value}")
