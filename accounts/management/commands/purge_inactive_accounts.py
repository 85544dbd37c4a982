from accounts import jobs
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Supprime les comptes inactifs depuis plus que le délai de purge."
    job = staticmethod(jobs.purge_inactive_accounts)
