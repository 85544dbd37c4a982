"""The warning 30 days before a convention ends (SPEC §6): once per end date."""

import datetime

import pytest
from django.conf import settings
from django.core import mail

from accounts.jobs import warn_convention_ends
from conventions.models import Convention
from notifications.models import SentEmail
from tests.factories import (
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    TechnicienFactory,
)

from .conftest import paris, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def convention(now):
    now(2026, 5, 1, 7, 0)
    return ConventionFactory(
        reference="CONV-OISE-2025",
        organisme=OrganismeFactory(nom="CPAM DE L'OISE", email_referent="referent@cpam-oise.fr"),
        structure=StructureFactory(nom="CCAS DE CREIL", siret="21600175800011"),
        date_debut=datetime.date(2025, 6, 1),
        date_fin=datetime.date(2026, 5, 31),
    )


@pytest.fixture
def gestionnaires(convention):
    structure = convention.structure
    return [
        GestionnaireFactory(
            structure=structure, prenom="Maryse", nom_patronymique="PICHON", email="m@ccas.fr"
        ),
        GestionnaireFactory(
            structure=structure, prenom="Victor", nom_patronymique="CHAUSSON", email="v@ccas.fr"
        ),
    ]


@pytest.fixture
def others(convention):
    """Who must not be warned: a technicien, an inactive gestionnaire, another structure, a
    gestionnaire whose address bounced."""
    return [
        TechnicienFactory(structure=convention.structure, email="tech@ccas.fr"),
        GestionnaireFactory(
            structure=convention.structure,
            email="rebond@ccas.fr",
            email_invalid_at=paris(2026, 4, 1, 9),
            email_invalide_motif="bounced",
        ),
        GestionnaireFactory(
            structure=convention.structure,
            email="ancien@ccas.fr",
            is_active=False,
            inactivated_at=paris(2026, 1, 1, 9),
        ),
        GestionnaireFactory(structure=StructureFactory(), email="autre@ailleurs.fr"),
    ]


def test_active_gestionnaires_and_the_referent_are_warned_30_days_before(
    convention, gestionnaires, others, on_commit
):
    with on_commit():
        report = warn_convention_ends()

    assert (report.conventions, report.emails_gestionnaires, report.emails_referents) == (1, 2, 1)
    assert sorted(message.to[0] for message in mail.outbox) == [
        "m@ccas.fr",
        "referent@cpam-oise.fr",
        "v@ccas.fr",
    ]
    convention.refresh_from_db()
    assert convention.end_warning_sent_for == datetime.date(2026, 5, 31)
    assert set(SentEmail.objects.values_list("recipient", "status")) == {
        ("m@ccas.fr", SentEmail.Status.SENT),
        ("v@ccas.fr", SentEmail.Status.SENT),
        ("referent@cpam-oise.fr", SentEmail.Status.SENT),
    }


def test_the_gestionnaire_e_mail_says_when_and_what_to_do(convention, gestionnaires, on_commit):
    with on_commit():
        warn_convention_ends()

    message = next(m for m in mail.outbox if m.to == ["m@ccas.fr"])
    assert message.subject == (
        "Espace Partenaires : votre convention avec CPAM DE L'OISE se termine le 31 mai 2026"
    )
    assert "Bonjour Maryse PICHON," in message.body
    assert (
        "Votre convention avec CPAM DE L'OISE (référence CONV-OISE-2025) se termine le "
        "31 mai 2026, rapprochez-vous de votre organisme d'assurance maladie." in message.body
    )
    assert f"{settings.SITE_URL}/connexion/" in message.body
    html = message.alternatives[0].content
    assert "se termine le <strong>31 mai 2026</strong>" in html
    assert f'href="{settings.SITE_URL}/connexion/"' in html


def test_the_referent_e_mail_names_the_structure(convention, gestionnaires, on_commit):
    with on_commit():
        warn_convention_ends()

    message = next(m for m in mail.outbox if m.to == ["referent@cpam-oise.fr"])
    assert message.subject == (
        "Espace Partenaires : la convention de CCAS DE CREIL se termine le 31 mai 2026"
    )
    assert (
        "La convention CONV-OISE-2025 entre CPAM DE L'OISE et la structure partenaire "
        "CCAS DE CREIL (SIRET 21600175800011) se termine le 31 mai 2026." in message.body
    )
    assert "Maryse" not in message.body


def test_31_days_before_nobody_is_warned(now, convention, gestionnaires, on_commit):
    now(2026, 4, 30, 7, 0)
    with on_commit():
        report = warn_convention_ends()

    assert report.conventions == 0
    assert mail.outbox == []


def test_the_warning_is_sent_once_per_end_date(now, convention, gestionnaires, on_commit):
    with on_commit():
        warn_convention_ends()
    assert len(mail.outbox) == 3
    state = snapshot()

    for day in (1, 2, 20, 31):
        now(2026, 5, day, 8, 0)
        with on_commit():
            assert warn_convention_ends().conventions == 0
    assert len(mail.outbox) == 3
    assert snapshot() == state


def test_an_end_date_moved_later_is_warned_again_within_30_days_of_the_new_date(
    now, convention, gestionnaires, on_commit
):
    with on_commit():
        warn_convention_ends()
    mail.outbox.clear()
    Convention.objects.filter(pk=convention.pk).update(date_fin=datetime.date(2026, 7, 15))

    now(2026, 6, 14, 7, 0)  # 31 days before the new date
    with on_commit():
        warn_convention_ends()
    assert mail.outbox == []

    now(2026, 6, 15, 7, 0)
    with on_commit():
        report = warn_convention_ends()
    assert report.conventions == 1
    assert len(mail.outbox) == 3
    assert all("15 juillet 2026" in message.subject for message in mail.outbox)
    convention.refresh_from_db()
    assert convention.end_warning_sent_for == datetime.date(2026, 7, 15)


def test_ended_and_open_ended_conventions_are_not_warned(now, on_commit):
    now(2026, 5, 1, 7, 0)
    ended = ConventionFactory(
        date_debut=datetime.date(2025, 1, 1), date_fin=datetime.date(2026, 4, 30)
    )
    open_ended = ConventionFactory(date_debut=datetime.date(2025, 1, 1), date_fin=None)
    for convention in (ended, open_ended):
        GestionnaireFactory(structure=convention.structure)

    with on_commit():
        assert warn_convention_ends().conventions == 0
    assert mail.outbox == []


def test_a_renewal_signed_with_the_same_organisme_means_no_warning(
    convention, gestionnaires, on_commit
):
    ConventionFactory(
        structure=convention.structure,
        organisme=convention.organisme,
        date_debut=datetime.date(2026, 6, 1),
        date_fin=None,
    )

    with on_commit():
        assert warn_convention_ends().conventions == 0
    assert mail.outbox == []
