"""`manage.py restore ARCHIVE`: the database and the attachments of an archive of `backup`, then
the counts and checksums compared with its manifest (espace_partenaires.backups)."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from espace_partenaires import backups


class Command(BaseCommand):
    help = (
        "Restaure une archive de « manage.py backup » : remplace la base de données et les "
        "pièces jointes, puis vérifie les nombres de lignes et les sommes SHA-256."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="Le fichier espace-partenaires-AAAAMMJJ-HHMMSS.tar.")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Ne pas demander de confirmation.",
        )

    def handle(self, *args, archive: str, interactive: bool = True, **options):
        try:
            manifest = backups.read_manifest(archive)
            backups.check_schemas(manifest)
            if interactive:
                made = timezone.localtime(datetime.datetime.fromisoformat(manifest["created_at"]))
                answer = input(
                    f"La base de données et les pièces jointes vont être remplacées par celles "
                    f"de l'archive du {made:%d/%m/%Y à %H:%M}. Tapez « oui » pour continuer : "
                )
                if answer.strip().lower() != "oui":
                    raise CommandError("Restauration annulée : rien n'a été modifié.")
            report = backups.restore_backup(archive)
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Archive restaurée : {report.archive} — {report.tables} tables, {report.rows} "
            f"lignes, {report.files} fichiers vérifiés, {report.removed_files} fichiers absents "
            f"de l'archive supprimés du stockage."
        )
        if report.mismatches:
            raise CommandError(
                "Vérification échouée après la restauration :\n"
                + "\n".join(f"- {line}" for line in report.mismatches)
            )
        self.stdout.write("Nombres de lignes et sommes SHA-256 conformes au manifeste.")
