import datetime

import factory
from django.utils import timezone

from accounts.cgu import CGU_VERSION
from accounts.models import Civilite, Role, User
from audit.models import AccessLogEntry
from conventions.models import Convention
from inscriptions.models import MessageContact, PreInscription
from organismes.models import Organisme, StructurePartenaire

TEST_PASSWORD = "Un-Mot-De-Passe-Solide-42"


def valid_siret(number: int) -> str:
    """A 14-digit SIRET passing the Luhn check, different for each number."""
    from organismes.validators import is_valid_siret

    base = f"{number:013d}"
    return next(base + str(d) for d in range(10) if is_valid_siret(base + str(d)))


class OrganismeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisme

    code = factory.Sequence(lambda n: f"{100 + n}")
    nom = factory.Sequence(lambda n: f"CPAM TEST {n}")
    email_referent = factory.Sequence(lambda n: f"referent{n}@cpam.example")


class StructureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StructurePartenaire

    nom = factory.Sequence(lambda n: f"CCAS NUMERO {n}")
    siret = factory.Sequence(lambda n: valid_siret(10_000 + n))
    adresse = "1 place de la Mairie"
    code_postal = "60100"
    ville = "Creil"
    telephone = "03.44.00.00.00"
    nombre_membres = 12


class ConventionFactory(factory.django.DjangoModelFactory):
    """A convention en cours, open-ended, between a new structure and a new organisme."""

    class Meta:
        model = Convention

    organisme = factory.SubFactory(OrganismeFactory)
    structure = factory.SubFactory(StructureFactory)
    reference = factory.Sequence(lambda n: f"CONV-{n:05d}")
    date_debut = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    date_fin = None
    max_gestionnaires = 2
    max_techniciens = 5


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    identifiant = factory.Sequence(lambda n: f"u.compte{n}")
    civilite = Civilite.MADAME
    nom_patronymique = "PICHON"
    nom_usuel = ""
    prenom = "Maryse"
    fonction = "Bénévole"
    telephone = "07.00.00.00.00"
    email = factory.Sequence(lambda n: f"personne{n}@partenaire.example")
    password_changed_at = factory.LazyFunction(timezone.now)
    # Accounts of tests have accepted the current CGU, unless a test says otherwise.
    cgu_version = CGU_VERSION
    cgu_accepted_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or TEST_PASSWORD)
        if create:
            self.save(update_fields=["password"])


class GestionnaireFactory(UserFactory):
    role = Role.GESTIONNAIRE
    structure = factory.SubFactory(StructureFactory)


class TechnicienFactory(UserFactory):
    role = Role.TECHNICIEN
    structure = factory.SubFactory(StructureFactory)


class AgentFactory(UserFactory):
    role = Role.AGENT
    organisme = factory.SubFactory(OrganismeFactory)


class SuperuserFactory(UserFactory):
    role = Role.ADMINISTRATEUR
    is_superuser = True


class PreInscriptionFactory(factory.django.DjangoModelFactory):
    """A pending pré-inscription for a new convention, as the public form records it."""

    class Meta:
        model = PreInscription

    convention = factory.SubFactory(ConventionFactory)
    organisme = factory.SelfAttribute("convention.organisme")
    reference_convention = factory.SelfAttribute("convention.reference")
    structure_nom = "CCAS de Creil"
    siret = factory.SelfAttribute("convention.structure.siret")
    adresse = "1 place de la Mairie"
    code_postal = "60100"
    ville = "Creil"
    structure_telephone = "03.44.00.00.00"
    civilite = Civilite.MADAME
    nom_patronymique = "PICHON"
    prenom = "Maryse"
    fonction = "Directrice"
    telephone = "07.00.00.00.00"
    email = factory.Sequence(lambda n: f"demandeur{n}@ccas.example")
    cgu_version = CGU_VERSION


class MessageContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageContact

    organisme = factory.SubFactory(OrganismeFactory)
    motif = MessageContact.Motif.PARTENARIAT
    nom = "Maryse Pichon"
    email = factory.Sequence(lambda n: f"contact{n}@ccas.example")
    message = "Comment devenir partenaire ?"


class AccessLogEntryFactory(factory.django.DjangoModelFactory):
    """An agent's view of a demande, as the change page writes it."""

    class Meta:
        model = AccessLogEntry

    user_label = factory.LazyAttribute(lambda entry: entry.user.identifiant if entry.user else "")
    action = AccessLogEntry.Action.VIEW_DEMANDE
    object_type = AccessLogEntry.ObjectType.DEMANDE
    object_id = 1
    reference = "EP-2026-000001"
