from accounts import jobs
from core.jobs import JobCommand


class Command(JobCommand):
    help = "Prévient les gestionnaires et le référent 30 jours avant la fin d'une convention."
    job = staticmethod(jobs.warn_convention_ends)
