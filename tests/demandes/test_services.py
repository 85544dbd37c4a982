"""SPEC §5, the rules of a new demande held by the service itself: `create_demande` called
directly, without the portal's form, refuses what the form refuses, with the same French message
on the same field, and writes nothing (no demande, no timeline, no file, no reference used)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.formats import date_format

from conventions.models import Offre
from demandes.attachments import AttachmentsField
from demandes.models import Demande, Evenement, PieceJointe, ReferenceCounter
from demandes.services import DemandeRuleError, create_demande
from tests.factories import OrganismeFactory, TechnicienFactory
from tests.helpers import PDF, with_all_offres

pytestmark = pytest.mark.django_db

PERSON = {
    "civilite": "MME",
    "nom": "MARTIN",
    "prenom": "Louise",
    "date_naissance": datetime.date(1985, 3, 12),
    "departement": "60",
    "commentaire": "",
    "consentement": True,
    "urgent": False,
    "categorie_urgence": "",
}
MOTIF_TO_SPECIFY = "Précisez votre demande dans le commentaire pour ce motif."
CATEGORY_MISSING = "Choisissez la catégorie de la situation urgente."
CATEGORY_WITHOUT_URGENCY = (
    "Une catégorie d'urgence ne s'indique que pour une situation urgente : cochez « Situation "
    "urgente ou bloquée » ou choisissez « Aucune »."
)
NO_CONSENT = "Cochez cette case : une demande ne peut être envoyée qu'avec l'accord de l'assuré(e)."
OFFER_CLOSED = "Cette offre de service n'est pas ouverte par la convention."


@pytest.fixture
def convention():
    return with_all_offres()


@pytest.fixture
def technicien(convention):
    return TechnicienFactory(structure=convention.structure)


def create(technicien, convention, code: str, uploads=(), **data) -> Demande:
    return create_demande(
        by=technicien,
        convention=convention,
        offre=Offre.objects.get(code=code),
        data={**PERSON, **data},
        uploads=uploads,
    )


def a_pdf() -> list:
    """An upload as the forms hand it to the service: checked, with its type and safe name."""
    return AttachmentsField().clean(
        [SimpleUploadedFile("attestation.pdf", PDF, content_type="application/pdf")]
    )


def assert_nothing_written(attachments_dir) -> None:
    assert not Demande.objects.exists()
    assert not Evenement.objects.exists()
    assert not PieceJointe.objects.exists()
    assert not ReferenceCounter.objects.exists()
    assert not attachments_dir.exists() or not any(p.is_file() for p in attachments_dir.rglob("*"))


# --- What the insured person's demande says -------------------------------------------------

REFUSED = [
    # (offer, data, field in error, message)
    pytest.param("contacter", {"motif": "question"}, "commentaire", "Ce champ est obligatoire.",
                 id="a question to the fund without the question"),
    pytest.param("contacter", {"motif": "question", "commentaire": "  \n "}, "commentaire",
                 "Ce champ est obligatoire.", id="a question made of blanks"),
    pytest.param("etude-dossier", {"motif": "autre"}, "commentaire", MOTIF_TO_SPECIFY,
                 id="etude-dossier autre without a comment"),
    pytest.param("document", {"motif": "autre", "commentaire": "   "}, "commentaire",
                 MOTIF_TO_SPECIFY, id="document autre with a blank comment"),
    pytest.param("difficulte-acces", {"motif": "c2s"}, "motif",
                 "Sélectionnez un choix valide. c2s n’en fait pas partie.",
                 id="a motif of another offer"),
    pytest.param("contacter", {"motif": "autre", "commentaire": "Une question"}, "motif",
                 "Sélectionnez un choix valide. autre n’en fait pas partie.",
                 id="a motif of another offer for the question"),
    pytest.param("rendez-vous", {"motif": ""}, "motif", "Ce champ est obligatoire.",
                 id="no motif"),
    pytest.param("rendez-vous", {"motif": "c2s", "urgent": True}, "categorie_urgence",
                 CATEGORY_MISSING, id="urgent without a category"),
    pytest.param("rendez-vous", {"motif": "c2s", "categorie_urgence": "suivi-ame"},
                 "categorie_urgence", CATEGORY_WITHOUT_URGENCY, id="a category without urgency"),
    pytest.param("rendez-vous", {"motif": "c2s", "urgent": True, "categorie_urgence": "grave"},
                 "categorie_urgence", "Sélectionnez un choix valide. grave n’en fait pas partie.",
                 id="an unknown category"),
    pytest.param("rendez-vous", {"motif": "c2s", "consentement": False}, "consentement",
                 NO_CONSENT, id="without the insured person's consent"),
]  # fmt: skip


@pytest.mark.parametrize(("code", "data", "field", "message"), REFUSED)
def test_the_service_refuses_what_the_form_refuses_on_the_same_field(
    technicien, convention, attachments_dir, code, data, field, message
):
    with pytest.raises(ValidationError) as refused:
        create(technicien, convention, code, uploads=a_pdf(), **data)

    assert refused.value.message_dict == {field: [message]}
    assert_nothing_written(attachments_dir)


def test_every_error_is_given_at_once(technicien, convention, attachments_dir):
    with pytest.raises(ValidationError) as refused:
        create(technicien, convention, "document", motif="autre", urgent=True, consentement=False)

    assert refused.value.message_dict == {
        "commentaire": [MOTIF_TO_SPECIFY],
        "categorie_urgence": [CATEGORY_MISSING],
        "consentement": [NO_CONSENT],
    }
    assert_nothing_written(attachments_dir)


@pytest.mark.parametrize(
    ("code", "data"),
    [
        ("contacter", {"motif": "question", "commentaire": "Quels horaires pour l'accueil ?"}),
        ("etude-dossier", {"motif": "autre", "commentaire": "Une pension de réversion."}),
        ("document", {"motif": "attestation-droits"}),
        ("rendez-vous", {"motif": "c2s", "urgent": True, "categorie_urgence": "suivi-ame"}),
    ],
)
def test_a_complete_demande_is_created(technicien, convention, code, data):
    demande = create(technicien, convention, code, uploads=a_pdf(), **data)

    assert (demande.offre.code, demande.motif) == (code, data["motif"])
    assert demande.pieces.count() == 1
    assert Demande.objects.get() == demande


# --- Under which convention -----------------------------------------------------------------


def test_an_offer_not_active_on_the_convention_is_refused(technicien, convention, attachments_dir):
    convention.offres.set(Offre.objects.exclude(code="document"))

    with pytest.raises(DemandeRuleError) as refused:
        create(technicien, convention, "document", uploads=a_pdf(), motif="attestation-droits")

    assert str(refused.value) == OFFER_CLOSED
    assert_nothing_written(attachments_dir)


def test_contacter_reserved_to_gestionnaires_is_refused_to_a_technicien(
    technicien, convention, attachments_dir
):
    convention.contact_reserve_aux_gestionnaires = True
    convention.save()

    with pytest.raises(DemandeRuleError) as refused:
        create(technicien, convention, "contacter", motif="question", commentaire="Une question")

    assert str(refused.value) == OFFER_CLOSED
    assert_nothing_written(attachments_dir)


def test_another_structures_convention_is_refused(technicien, attachments_dir):
    """The portal always passes the user's own convention; the service does not rely on it."""
    other = with_all_offres()

    with pytest.raises(DemandeRuleError) as refused:
        create(technicien, other, "rendez-vous", uploads=a_pdf(), motif="c2s")

    assert str(refused.value) == "Cette convention n'est pas celle de votre structure."
    assert_nothing_written(attachments_dir)


def test_an_ended_convention_is_refused(attachments_dir):
    today = timezone.localdate()
    convention = with_all_offres(
        date_debut=today - datetime.timedelta(days=400), date_fin=today - datetime.timedelta(days=1)
    )
    technicien = TechnicienFactory(structure=convention.structure)

    with pytest.raises(DemandeRuleError) as refused:
        create(technicien, convention, "rendez-vous", uploads=a_pdf(), motif="c2s")

    assert str(refused.value) == "La convention avec cet organisme est terminée."
    assert_nothing_written(attachments_dir)


def test_a_convention_not_started_yet_is_refused_with_its_start_date(attachments_dir):
    debut = timezone.localdate() + datetime.timedelta(days=12)
    convention = with_all_offres(date_debut=debut, organisme=OrganismeFactory(nom="CPAM DE L'OISE"))
    technicien = TechnicienFactory(structure=convention.structure)

    with pytest.raises(DemandeRuleError) as refused:
        create(technicien, convention, "rendez-vous", uploads=a_pdf(), motif="c2s")

    assert str(refused.value) == (
        "La convention avec CPAM DE L'OISE n'a pas encore commencé : vous pourrez déposer des "
        f"demandes à partir du {date_format(debut, 'j F Y')}."
    )
    assert_nothing_written(attachments_dir)


def test_the_conventions_rules_come_first(attachments_dir):
    """A demande that breaks both kinds of rule is refused for the convention, as the portal
    does (it does not even show the form then)."""
    today = timezone.localdate()
    convention = with_all_offres(
        date_debut=today - datetime.timedelta(days=400), date_fin=today - datetime.timedelta(days=1)
    )
    technicien = TechnicienFactory(structure=convention.structure)

    with pytest.raises(DemandeRuleError):
        create(technicien, convention, "rendez-vous", motif="autre", urgent=True)

    assert_nothing_written(attachments_dir)
