"""Demo data from the seed documents, created idempotently: run it as often as you like."""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Civilite, Role, User
from accounts.services import next_identifiant
from conventions.models import Convention, Offre
from organismes.models import Organisme, StructurePartenaire

DEMO_PASSWORD = "Partenaires-Demo-2026"  # noqa: S105 (demo only, printed on purpose)
# A convention the fund has entered for a structure that has no account yet: the one to try the
# pré-inscription with (README, "Essayer la pré-inscription").
PREINSCRIPTION = {
    "organisme": "331",
    "reference": "MER-33-2026",
    "structure": "CCAS DE MERIGNAC",
    "siret": "26330029300010",
}

# Each fund with its agent de caisse: a person (civilité, nom, prénom), greeted by name in the
# admin (issue 19, item 10).
ORGANISMES = (
    ("331", "CPAM GIRONDE", "agent.gironde", (Civilite.MADAME, "LAMBERT", "Sophie")),
    ("623", "CPAM COTE D'OPALE", "agent.opale", (Civilite.MONSIEUR, "DEVAUX", "Julien")),
    ("471", "CPAM LOT ET GARONNE", "agent.lotetgaronne", (Civilite.MADAME, "MOREAU", "Claire")),
    ("241", "CPAM DORDOGNE", "agent.dordogne", (Civilite.MONSIEUR, "BENALI", "Karim")),
)


class Command(BaseCommand):
    help = "Crée (ou remet à jour) les données de démonstration et affiche les identifiants."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Créer les comptes de démonstration même si DEBUG est désactivé.",
        )

    @transaction.atomic
    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Les comptes de démonstration ont un mot de passe connu : lancez cette commande "
                "avec DEBUG=true (make run), ou avec --force en connaissance de cause."
            )
        today = timezone.localdate()
        organismes = {
            code: self.organisme(code, nom, agent, person)
            for code, nom, agent, person in ORGANISMES
        }
        restos = self.structure(
            "LES RESTOS DU COEUR", "78234012300010", "12 rue des Bénévoles", "33000", "Bordeaux", 12
        )
        ccas = self.structure(
            "CCAS DE BORDEAUX", "26330028100015", "4 place de la Mairie", "33000", "Bordeaux", 30
        )
        offres = list(Offre.objects.all())
        year = datetime.timedelta(days=365)
        self.convention(organismes["331"], restos, "RDC-33-2025", today - year, None, offres)
        self.convention(
            organismes["623"], restos, "RDC-62-2025", today - year, today + year, offres
        )
        # Ends within 30 days: shown in red with an asterisk in the organisme selection.
        self.convention(
            organismes["471"],
            restos,
            "RDC-47-2025",
            today - year,
            today + datetime.timedelta(days=20),
            offres,
        )
        # Not started yet (à venir).
        self.convention(
            organismes["241"],
            restos,
            "RDC-24-2026",
            today + datetime.timedelta(days=15),
            today + 2 * year,
            offres,
        )
        self.convention(organismes["331"], ccas, "CCAS-33-2024", today - 2 * year, None, offres)
        merignac = self.structure(
            PREINSCRIPTION["structure"],
            PREINSCRIPTION["siret"],
            "60 avenue du Maréchal de Lattre de Tassigny",
            "33700",
            "Mérignac",
            8,
        )
        self.convention(
            organismes[PREINSCRIPTION["organisme"]],
            merignac,
            PREINSCRIPTION["reference"],
            today - datetime.timedelta(days=30),
            None,
            offres,
        )

        paul = self.partner(
            restos, Role.GESTIONNAIRE, Civilite.MONSIEUR, "FORT", "Paul", "Responsable"
        )
        self.partner(ccas, Role.GESTIONNAIRE, Civilite.MADAME, "CHAUSSON", "Valérie", "Directrice")
        self.partner(restos, Role.TECHNICIEN, Civilite.MADAME, "PICHON", "Maryse", "Bénévole", paul)
        self.partner(
            restos, Role.TECHNICIEN, Civilite.MONSIEUR, "CHAUSSON", "Victor", "Bénévole", paul
        )

        self.demandes(restos, organismes["331"])

        if not User.objects.filter(identifiant="admin").exists():
            User.objects.create_superuser(
                "admin", DEMO_PASSWORD, email="admin@espace-partenaires.example"
            )
        self.print_logins()

    def organisme(self, code: str, nom: str, agent_identifiant: str, person: tuple) -> Organisme:
        slug = agent_identifiant.split(".", 1)[1]
        organisme, _ = Organisme.objects.update_or_create(
            code=code,
            defaults={
                "nom": nom,
                "email_referent": f"partenaires.{slug}@assurance-maladie.example",
            },
        )
        civilite, nom_usuel, prenom = person
        names = {"civilite": civilite, "nom_usuel": nom_usuel, "prenom": prenom}
        agent = User.objects.filter(identifiant=agent_identifiant).first()
        if agent is None:
            User.objects.create_user(
                agent_identifiant,
                DEMO_PASSWORD,
                role=Role.AGENT,
                organisme=organisme,
                **names,
                fonction="Agent de caisse",
                telephone="05.00.00.00.00",
                email=f"{agent_identifiant}@assurance-maladie.example",
                password_changed_at=timezone.now(),
            )
        elif agent.nom_usuel == "AGENT":
            # A demo database of an earlier version: its agents were named after their fund.
            User.objects.filter(pk=agent.pk).update(**names)
        return organisme

    def structure(self, nom, siret, adresse, code_postal, ville, membres) -> StructurePartenaire:
        structure, _ = StructurePartenaire.objects.update_or_create(
            siret=siret,
            defaults={
                "nom": nom,
                "adresse": adresse,
                "code_postal": code_postal,
                "ville": ville,
                "telephone": "05.56.00.00.00",
                "nombre_membres": membres,
            },
        )
        return structure

    def convention(self, organisme, structure, reference, debut, fin, offres) -> Convention:
        convention, _ = Convention.objects.update_or_create(
            organisme=organisme,
            reference=reference,
            defaults={
                "structure": structure,
                "date_debut": debut,
                "date_fin": fin,
                "max_gestionnaires": 3,
                "max_techniciens": 15,
                "habilitee": True,
            },
        )
        convention.offres.set(offres)
        return convention

    def partner(self, structure, role, civilite, nom, prenom, fonction, created_by=None) -> User:
        email = f"{prenom.lower().replace('é', 'e')}.{nom.lower()}@partenaire.example"
        account = User.objects.filter(role=role, email=email).first()
        if account is None:
            account = User.objects.create_user(
                next_identifiant(prenom, nom),
                DEMO_PASSWORD,
                role=role,
                structure=structure,
                civilite=civilite,
                nom_patronymique=nom,
                prenom=prenom,
                fonction=fonction,
                telephone="07.00.00.00.00",
                email=email,
                created_by=created_by,
                password_changed_at=timezone.now(),
            )
        return account

    def demandes(self, structure: StructurePartenaire, organisme: Organisme) -> None:
        """Three demandes with CPAM GIRONDE, at three stages, once."""
        from demandes import services as demandes_services

        if structure.demandes.exists():
            return
        convention = Convention.objects.get(structure=structure, organisme=organisme)
        maryse = User.objects.get(identifiant="m.pichon")
        agent = User.objects.get(identifiant="agent.gironde")
        person = {"consentement": True, "departement": "33"}
        offres = {offre.code: offre for offre in Offre.objects.all()}
        demandes_services.create_demande(
            by=maryse,
            convention=convention,
            offre=offres["rendez-vous"],
            data={
                **person,
                "motif": "compte-ameli",
                "civilite": Civilite.MADAME,
                "nom": "DUPUIS",
                "prenom": "Jeanne",
                "date_naissance": datetime.date(1950, 4, 12),
                "commentaire": "Mme Dupuis souhaite être accompagnée pour créer son compte ameli.",
            },
        )
        urgent = demandes_services.create_demande(
            by=maryse,
            convention=convention,
            offre=offres["etude-dossier"],
            data={
                **person,
                "motif": "c2s",
                "civilite": Civilite.MONSIEUR,
                "nom": "HAKIMI",
                "prenom": "Youssef",
                "date_naissance": datetime.date(1988, 11, 3),
                "urgent": True,
                "categorie_urgence": "c2s-puma-asile",
                "commentaire": "Demandeur d'asile, rendez-vous à l'hôpital dans 8 jours.",
            },
        )
        demandes_services.prendre_en_charge(by=agent, demande=urgent)
        demandes_services.demander_complement(
            by=agent,
            demande=urgent,
            message="Merci de joindre l'attestation de demande d'asile.",
        )
        document = demandes_services.create_demande(
            by=maryse,
            convention=convention,
            offre=offres["document"],
            data={
                **person,
                "motif": "attestation-droits",
                "civilite": Civilite.MONSIEUR,
                "nom": "MARTIN",
                "prenom": "Louis",
                "date_naissance": datetime.date(1972, 2, 28),
            },
        )
        demandes_services.cloturer(
            by=agent,
            demande=document,
            reponse="L'attestation de droits a été envoyée à l'adresse de l'assuré.",
        )

    def print_logins(self) -> None:
        self.stdout.write(self.style.SUCCESS("Données de démonstration prêtes."))
        self.stdout.write(f"Mot de passe de tous les comptes de démonstration : {DEMO_PASSWORD}")
        rows = User.objects.filter(is_active=True).select_related("structure", "organisme")
        for account in rows.order_by("role", "identifiant"):
            where = account.structure or account.organisme or "national"
            self.stdout.write(
                f"  {account.identifiant:<22} {account.get_role_display():<26} {where}"
            )
        self.stdout.write(
            "Agents de caisse et admin : à la première connexion à l'administration, activez un "
            "second facteur (application d'authentification : QR code ou clé affichée ; ou clé "
            f"d'accès, en ouvrant http://localhost:{settings.PORT}/), puis gardez les codes de "
            "secours. Pour tout recommencer, admin réinitialise les facteurs d'un agent (Agents "
            "de caisse et administrateurs, action « Réinitialiser les facteurs "
            "d'authentification »)."
        )
        organisme = Organisme.objects.get(code=PREINSCRIPTION["organisme"])
        self.stdout.write(
            "Pré-inscription (page de connexion, lien « Pré-inscription ») : organisme "
            f"{organisme.nom}, référence de convention {PREINSCRIPTION['reference']}, structure "
            f"{PREINSCRIPTION['structure']}, SIRET {PREINSCRIPTION['siret']} ; cette convention "
            "n'a encore aucun compte. Puis, avec agent.gironde, « Pré-inscriptions » : « Valider »."
        )
