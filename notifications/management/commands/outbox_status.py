from django.core.management.base import BaseCommand

from notifications.monitoring import outbox_status


class Command(BaseCommand):
    help = (
        "Affiche, pour la supervision, le nombre d'e-mails en attente d'envoi et l'âge en "
        "secondes du plus ancien : « pending=3 oldest_seconds=125 »."
    )

    def handle(self, *args, **options):
        self.stdout.write(str(outbox_status()))
