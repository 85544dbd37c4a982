from accounts import jobs
from core.jobs import JobCommand


class Command(JobCommand):
    help = (
        "Demande par e-mail aux gestionnaires la revue des habilitations de leurs techniciens, "
        "une fois par période."
    )
    job = staticmethod(jobs.request_habilitation_reviews)
