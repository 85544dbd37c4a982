"""The retention of demandes (SPEC §10): closed demandes past their organisme's delay are
anonymised, nightly.

Two steps, each in batches locked with SKIP LOCKED (two runs at once share the rows):

1. In one transaction per batch, each demande loses the insured person's civilité, names and date
   of birth, its comment and answer, the message of every step of its timeline, the names of its
   files and its private notes (deleted), and gets `anonymisee_le`. From that commit on, no page
   shows any of it and its files are out of reach (PieceJointe.objects.visible_to leaves them out).
2. Then the files of anonymised demandes are deleted from storage (local or S3, through the
   storage API), and each row once its file is gone. Storage is not transactional: a file that
   cannot be deleted keeps its row, counted in `files_failed` and logged, and the next run
   deletes it. Deleting a file already gone is a no-op for both storages, so that a run
   interrupted between a file and its row, or two runs at once, do no harm.

What the indicators read (offer, motif, dates, status, urgency and its category, département,
convention, structure, author) stays, so that they give the same figures before and after.
"""

import datetime
import logging
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from core.jobs import JobReport, for_each_locked_batch, run_job

from .models import Demande, Evenement, NoteInterne, PieceJointe
from .notify import send_daily_digests

__all__ = ["anonymise_closed_demandes", "send_daily_digests"]

logger = logging.getLogger(__name__)

BATCH_SIZE = 200

# What the anonymisation leaves in the erased fields: blank, as the model allows once anonymised
# (demande_identity_unless_anonymisee).
ERASED = {
    "civilite": "",
    "nom": "",
    "prenom": "",
    "date_naissance": None,
    "commentaire": "",
    "reponse": "",
}


@dataclass
class AnonymisationReport(JobReport):
    demandes_anonymised: int = 0
    files_deleted: int = 0
    files_failed: int = 0


def anonymise_closed_demandes(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> AnonymisationReport:
    """Anonymise the closed demandes past their organisme's retention delay, then delete their
    files. A dry run counts the files it would delete and deletes none."""

    def job() -> AnonymisationReport:
        report = AnonymisationReport(dry_run=dry_run)
        now = timezone.now()

        def anonymise(batch: list[Demande]) -> None:
            _anonymise(batch, now)
            report.demandes_anonymised += len(batch)

        for_each_locked_batch(Demande.objects.due_for_anonymisation(now), anonymise, batch_size)
        leftovers = PieceJointe.objects.filter(demande__anonymisee_le__isnull=False)
        if dry_run:
            # The files are not in the transaction that the dry run rolls back: none is touched.
            report.files_deleted = leftovers.count()
        else:
            _delete_files(leftovers, report, batch_size)
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("anonymise_closed_demandes: %s", report)
    return report


def _anonymise(batch: list[Demande], now: datetime.datetime) -> None:
    ids = [demande.pk for demande in batch]
    Demande.objects.filter(pk__in=ids).update(**ERASED, anonymisee_le=now)
    Evenement.objects.filter(demande__in=ids).exclude(message="").update(message="")
    # The fund's notes are free texts about the person: they go (SPEC §10).
    NoteInterne.objects.filter(demande__in=ids).delete()
    # A file's name may name the person; the row itself goes with its file (step 2).
    PieceJointe.objects.filter(demande__in=ids).update(nom="")
    logger.info("anonymise_closed_demandes: %s demande(s) anonymised: %s", len(ids), ids)


def _delete_files(pieces: QuerySet, report: AnonymisationReport, batch_size: int) -> None:
    def delete(batch: list[PieceJointe]) -> None:
        deleted = []
        for piece in batch:
            try:
                piece.fichier.storage.delete(piece.fichier.name)
            except Exception:  # the storage's failure (disk, network, S3): the next run retries
                logger.exception(
                    "anonymise_closed_demandes: file of attachment %s not deleted", piece.pk
                )
                report.files_failed += 1
            else:
                deleted.append(piece.pk)
        PieceJointe.objects.filter(pk__in=deleted).delete()
        report.files_deleted += len(deleted)

    for_each_locked_batch(pieces, delete, batch_size)
