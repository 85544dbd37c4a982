from accounts import jobs
from core.jobs import JobCommand


class Command(JobCommand):
    help = (
        "Inactive les comptes partenaires inutilisés et prévenus (jamais le dernier gestionnaire "
        "actif)."
    )
    job = staticmethod(jobs.inactivate_dormant_accounts)
