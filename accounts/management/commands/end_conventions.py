from accounts import jobs
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Inactive les comptes des structures dont la dernière convention est terminée."
    job = staticmethod(jobs.end_conventions)
