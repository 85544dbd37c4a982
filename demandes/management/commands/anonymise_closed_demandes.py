from core.jobs import JobCommand
from demandes import jobs


class Command(JobCommand):
    help = (
        "Anonymise les demandes clôturées depuis plus que le délai de conservation de leur "
        "organisme, et supprime leurs pièces jointes."
    )
    job = staticmethod(jobs.anonymise_closed_demandes)
