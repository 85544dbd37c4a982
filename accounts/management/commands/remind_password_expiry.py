from accounts import jobs
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Prévient par e-mail les personnes dont le mot de passe expire bientôt."
    job = staticmethod(jobs.remind_password_expiry)
