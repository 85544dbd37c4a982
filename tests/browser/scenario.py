"""The people and conventions of the browser tests: one structure, LES RESTOS DU COEUR, with a
convention en cours with CPAM GIRONDE and one ending in 20 days with CPAM LOT ET GARONNE (the red
asterisk), its gestionnaire Pierre FORT and an agent de caisse of CPAM GIRONDE."""

import datetime
import importlib
from dataclasses import dataclass

from django.apps import apps
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Civilite, User
from conventions.models import Convention, Offre
from organismes.models import Organisme, StructurePartenaire
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    TechnicienFactory,
)


@dataclass
class Scenario:
    structure: StructurePartenaire
    gironde: Organisme
    lot_et_garonne: Organisme
    convention: Convention
    gestionnaire: User
    agent: User


def create_offres() -> None:
    """The six offers of service, as their data migration creates them: the flush between
    transactional tests removes them (and serialized_rollback conflicts with the content types
    that the flush of an earlier, non-serialized test re-creates)."""
    migration = importlib.import_module("conventions.migrations.0002_offres_de_service")
    migration.create_offres(apps, None)


def build() -> Scenario:
    create_offres()
    today = timezone.localdate()
    structure = StructureFactory(nom="LES RESTOS DU COEUR")
    gironde = OrganismeFactory(nom="CPAM GIRONDE")
    lot_et_garonne = OrganismeFactory(nom="CPAM LOT ET GARONNE")
    convention = ConventionFactory(
        organisme=gironde, structure=structure, reference="GIR-2026-001", habilitee=True
    )
    convention.offres.set(Offre.objects.all())
    ending = ConventionFactory(
        organisme=lot_et_garonne,
        structure=structure,
        reference="LOT-2026-001",
        date_fin=today + datetime.timedelta(days=20),
    )
    ending.offres.set(Offre.objects.all())
    gestionnaire = GestionnaireFactory(
        structure=structure,
        identifiant="p.fort",
        civilite=Civilite.MONSIEUR,
        nom_patronymique="FORT",
        prenom="Pierre",
        fonction="Responsable",
        email="p.fort@restosducoeur.example",
    )
    # Another technicien: the last active one could not be inactivated by a gestionnaire.
    TechnicienFactory(
        structure=structure,
        identifiant="v.chausson",
        nom_patronymique="CHAUSSON",
        prenom="Valérie",
        email="v.chausson@restosducoeur.example",
    )
    agent = AgentFactory(
        organisme=gironde,
        identifiant="agent.gironde",
        nom_patronymique="MARTIN",
        prenom="Claire",
        fonction="Agent de caisse",
        email="agent.gironde@assurance-maladie.example",
    )
    # Enrolled at an earlier log-in: the walks give its code (conftest.log_in_with_app).
    TOTPDevice.objects.create(user=agent, name="Application", confirmed=True)
    return Scenario(structure, gironde, lot_et_garonne, convention, gestionnaire, agent)
