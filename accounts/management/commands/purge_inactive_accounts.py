from accounts.jobs import purge_inactive_accounts
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Supprime les comptes inactifs depuis plus que le délai de purge."
    job = staticmethod(purge_inactive_accounts)
