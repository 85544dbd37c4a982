from accounts.jobs import end_conventions
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Inactive les comptes des structures dont la dernière convention est terminée."
    job = staticmethod(end_conventions)
