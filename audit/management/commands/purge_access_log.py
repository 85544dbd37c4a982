from audit import jobs
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Supprime le journal des accès au-delà de sa durée de conservation."
    job = staticmethod(jobs.purge_access_log)
