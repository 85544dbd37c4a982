from accounts import jobs
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Supprime les liens d'invitation expirés depuis plus de 30 jours."
    job = staticmethod(jobs.purge_expired_invitations)
