"""`manage.py resend_failed_emails`: after a provider's outage, every failed e-mail sent again, as
the admin's action "Renvoyer les e-mails en échec sélectionnés" does (notifications.services)."""

import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from notifications import services
from notifications.models import SentEmail


class Command(BaseCommand):
    help = (
        "Renvoie les e-mails en échec (par exemple après une panne du fournisseur d'e-mails) : "
        "chacun repart pour une nouvelle série de tentatives."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            type=datetime.date.fromisoformat,
            help="Seulement les e-mails créés depuis ce jour (AAAA-MM-JJ, heure de Paris).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Afficher combien d'e-mails seraient renvoyés, sans rien renvoyer.",
        )

    def handle(self, *args, since=None, dry_run: bool = False, **options):
        failed = SentEmail.objects.filter(status=SentEmail.Status.FAILED)
        if since is not None:
            start = datetime.datetime.combine(since, datetime.time())
            failed = failed.filter(created_at__gte=timezone.make_aware(start))
        if dry_run:
            self.stdout.write("Simulation (--dry-run) : rien n'a été renvoyé.")
            self.stdout.write(f"e-mails en échec à renvoyer : {failed.count()}")
            return
        # Addresses stay out of the output (an ops log): counts only.
        resent = sum(services.resend(sent) for sent in failed.order_by("pk").iterator())
        self.stdout.write(f"e-mails renvoyés : {resent}")
