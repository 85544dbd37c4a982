from core.jobs import JobCommand
from notifications.jobs import purge_sent_email_log


class Command(JobCommand):
    help = "Supprime le journal des e-mails envoyés au-delà de sa durée de conservation."
    job = staticmethod(purge_sent_email_log)
