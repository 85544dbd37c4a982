from django.db import migrations

# Frozen copy: a migration must not change when conventions/offres.py does.
OFFRES = (
    ("contacter", "Contacter votre organisme"),
    ("etude-dossier", "Soumettre une demande d'étude de dossier"),
    ("difficulte-acces", "Signaler une situation de difficulté d'accès aux droits et aux soins"),
    ("rendez-vous", "Demander un rendez-vous pour un assuré"),
    ("document", "Demander un document"),
    ("historique", "Consulter l'historique des demandes"),
)


def create_offres(apps, schema_editor):
    Offre = apps.get_model("conventions", "Offre")
    for ordre, (code, libelle) in enumerate(OFFRES, start=1):
        Offre.objects.update_or_create(code=code, defaults={"libelle": libelle, "ordre": ordre})


class Migration(migrations.Migration):
    dependencies = [("conventions", "0001_initial")]

    operations = [migrations.RunPython(create_offres, migrations.RunPython.noop)]
