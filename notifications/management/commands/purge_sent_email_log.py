from core.jobs import JobCommand
from notifications import jobs


class Command(JobCommand):
    help = "Supprime le journal des e-mails envoyés au-delà de sa durée de conservation."
    job = staticmethod(jobs.purge_sent_email_log)
