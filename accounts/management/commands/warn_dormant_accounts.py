from accounts import jobs
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Prévient par e-mail les comptes partenaires inutilisés qu'ils vont être inactivés."
    job = staticmethod(jobs.warn_dormant_accounts)
