from core.jobs import JobCommand
from inscriptions.jobs import purge_inscriptions


class Command(JobCommand):
    help = (
        "Supprime les pré-inscriptions et les messages de contact au-delà de leur durée de "
        "conservation."
    )
    job = staticmethod(purge_inscriptions)
