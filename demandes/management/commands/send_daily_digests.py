from core.jobs import JobCommand
from demandes import jobs


class Command(JobCommand):
    help = (
        "Envoie à chaque agent de caisse son résumé quotidien : les événements de ses demandes "
        "qu'il a choisi d'y lire et les demandes en retard de son organisme."
    )
    job = staticmethod(jobs.send_daily_digests)
