from core.jobs import JobCommand
from inscriptions import jobs


class Command(JobCommand):
    help = (
        "Supprime les pré-inscriptions et les messages de contact au-delà de leur durée de "
        "conservation."
    )
    job = staticmethod(jobs.purge_inscriptions)
