from accounts.jobs import purge_expired_sessions
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Supprime les sessions dont le délai d'inactivité est dépassé."
    job = staticmethod(purge_expired_sessions)
