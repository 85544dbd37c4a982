from accounts import jobs
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Supprime les sessions dont le délai d'inactivité est dépassé."
    job = staticmethod(jobs.purge_expired_sessions)
