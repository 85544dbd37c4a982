"""`manage.py backup`: one archive of the database and the attachments (espace_partenaires.backups);
`--nightly` repeats it every day at BACKUP_TIME (docker-compose.yml's backup service)."""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from espace_partenaires import backups

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Sauvegarde la base de données et les pièces jointes dans une archive datée de "
        "BACKUP_DIR, et ne garde que les BACKUP_KEEP plus récentes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--nightly",
            action="store_true",
            help="Ne s'arrête pas : une sauvegarde chaque jour à BACKUP_TIME (heure de Paris).",
        )

    def handle(self, *args, nightly: bool = False, **options):
        if not nightly:
            try:
                archive = backups.create_backup()
            except backups.BackupError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(f"Sauvegarde écrite : {archive}")
            return
        while True:
            run = backups.next_run(settings.BACKUP_TIME)
            self.stdout.write(f"Prochaine sauvegarde : {run:%Y-%m-%d %H:%M} ({run.tzinfo}).")
            time.sleep(max(0.0, (run - timezone.now()).total_seconds()))
            try:
                archive = backups.create_backup()
            except Exception:
                # The service stays up for the next night; the failure is in its log.
                logger.exception("La sauvegarde de la nuit a échoué.")
                continue
            logger.info("Sauvegarde écrite : %s", archive)
