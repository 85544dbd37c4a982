from accounts.jobs import remind_password_expiry
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Prévient par e-mail les personnes dont le mot de passe expire bientôt."
    job = staticmethod(remind_password_expiry)
