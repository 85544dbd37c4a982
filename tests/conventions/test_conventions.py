"""SPEC §2, conventions: state by date, quotas and their defaults, unique reference per organisme,
no overlap between two conventions of a structure with the same organisme."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from conventions.forms import ConventionAdminForm
from conventions.models import Convention, default_quotas
from tests.factories import ConventionFactory, OrganismeFactory, StructureFactory

D = datetime.date
PARIS = zoneinfo.ZoneInfo("Europe/Paris")

OVERLAP = (
    "Cette structure a déjà une convention avec cet organisme sur ces dates : "
    "deux conventions avec le même organisme ne peuvent pas se chevaucher."
)
REFERENCE_TAKEN = "Cette référence de convention existe déjà pour cet organisme."


def at_noon(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, 12, tzinfo=PARIS)


# --- State by date -------------------------------------------------------------------------


@pytest.fixture
def convention_2025():
    return Convention(date_debut=D(2025, 1, 1), date_fin=D(2025, 12, 31))


@pytest.mark.parametrize(
    ("today", "etat"),
    [
        (D(2024, 6, 1), Convention.Etat.A_VENIR),
        (D(2024, 12, 31), Convention.Etat.A_VENIR),
        (D(2025, 1, 1), Convention.Etat.EN_COURS),  # the start day
        (D(2025, 7, 14), Convention.Etat.EN_COURS),
        (D(2025, 12, 31), Convention.Etat.EN_COURS),  # the end day
        (D(2026, 1, 1), Convention.Etat.TERMINEE),  # the day after the end
        (D(2030, 1, 1), Convention.Etat.TERMINEE),
    ],
)
def test_the_state_of_a_convention_follows_the_date(convention_2025, today, etat):
    with time_machine.travel(at_noon(today), tick=False):
        assert convention_2025.etat() == etat
        assert convention_2025.is_en_cours is (etat == Convention.Etat.EN_COURS)


def test_the_state_can_be_asked_for_another_day(convention_2025):
    with time_machine.travel(at_noon(D(2025, 6, 1)), tick=False):
        assert convention_2025.etat(D(2024, 12, 31)) == Convention.Etat.A_VENIR
        assert convention_2025.etat(D(2026, 1, 1)) == Convention.Etat.TERMINEE


def test_an_open_ended_convention_never_ends():
    convention = Convention(date_debut=D(2025, 1, 1), date_fin=None)
    with time_machine.travel(at_noon(D(2024, 12, 31)), tick=False):
        assert convention.etat() == Convention.Etat.A_VENIR
    with time_machine.travel(at_noon(D(2025, 1, 1)), tick=False):
        assert convention.etat() == Convention.Etat.EN_COURS
    with time_machine.travel(at_noon(D(2099, 12, 31)), tick=False):
        assert convention.etat() == Convention.Etat.EN_COURS


def test_the_state_changes_at_midnight_in_paris_not_in_utc(convention_2025):
    # 23:30 UTC on 31 December is already 1 January in Paris: the convention has started.
    with time_machine.travel(datetime.datetime(2024, 12, 31, 23, 30, tzinfo=datetime.UTC)):
        assert convention_2025.etat() == Convention.Etat.EN_COURS
    # 23:30 UTC on 31 December 2025 is 1 January 2026 in Paris: it has ended.
    with time_machine.travel(datetime.datetime(2025, 12, 31, 23, 30, tzinfo=datetime.UTC)):
        assert convention_2025.etat() == Convention.Etat.TERMINEE


@pytest.fixture
def conventions_by_state(db):
    """Conventions seen from 15 June 2025."""
    return {
        "a_venir": ConventionFactory(date_debut=D(2025, 6, 16), date_fin=D(2026, 6, 15)),
        "starts_today": ConventionFactory(date_debut=D(2025, 6, 15), date_fin=D(2026, 6, 14)),
        "en_cours": ConventionFactory(date_debut=D(2025, 1, 1), date_fin=D(2025, 12, 31)),
        "ends_today": ConventionFactory(date_debut=D(2024, 6, 15), date_fin=D(2025, 6, 15)),
        "open_ended": ConventionFactory(date_debut=D(2020, 1, 1), date_fin=None),
        "ended_yesterday": ConventionFactory(date_debut=D(2024, 6, 14), date_fin=D(2025, 6, 14)),
        "terminee": ConventionFactory(date_debut=D(2023, 1, 1), date_fin=D(2023, 12, 31)),
    }


def names(conventions_by_state, queryset) -> set[str]:
    pks = set(queryset.values_list("pk", flat=True))
    return {name for name, convention in conventions_by_state.items() if convention.pk in pks}


def test_queryset_en_cours(conventions_by_state):
    with time_machine.travel(at_noon(D(2025, 6, 15)), tick=False):
        found = names(conventions_by_state, Convention.objects.en_cours())
    assert found == {"starts_today", "en_cours", "ends_today", "open_ended"}


def test_queryset_a_venir(conventions_by_state):
    with time_machine.travel(at_noon(D(2025, 6, 15)), tick=False):
        found = names(conventions_by_state, Convention.objects.a_venir())
    assert found == {"a_venir"}


def test_queryset_terminees(conventions_by_state):
    with time_machine.travel(at_noon(D(2025, 6, 15)), tick=False):
        found = names(conventions_by_state, Convention.objects.terminees())
    assert found == {"ended_yesterday", "terminee"}


def test_queryset_en_cours_ou_a_venir(conventions_by_state):
    with time_machine.travel(at_noon(D(2025, 6, 15)), tick=False):
        found = names(conventions_by_state, Convention.objects.en_cours_ou_a_venir())
    assert found == {"a_venir", "starts_today", "en_cours", "ends_today", "open_ended"}


def test_querysets_agree_with_etat(conventions_by_state):
    with time_machine.travel(at_noon(D(2025, 6, 15)), tick=False):
        for convention in conventions_by_state.values():
            etat = convention.etat()
            assert Convention.objects.en_cours().filter(pk=convention.pk).exists() is (
                etat == Convention.Etat.EN_COURS
            )
            assert Convention.objects.a_venir().filter(pk=convention.pk).exists() is (
                etat == Convention.Etat.A_VENIR
            )
            assert Convention.objects.terminees().filter(pk=convention.pk).exists() is (
                etat == Convention.Etat.TERMINEE
            )


def test_querysets_accept_another_day(conventions_by_state):
    with time_machine.travel(at_noon(D(2025, 6, 15)), tick=False):
        found = names(conventions_by_state, Convention.objects.en_cours(D(2026, 6, 15)))
    assert found == {"a_venir", "open_ended"}


# --- Quotas --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "quotas"),
    [
        (1, (2, 5)),
        (10, (2, 5)),
        (11, (3, 15)),
        (25, (3, 15)),
        (26, (5, 25)),
        (500, (5, 25)),
    ],
)
def test_default_quotas_follow_the_number_of_members(members, quotas):
    assert default_quotas(members) == quotas


def form_data(structure, organisme, **overrides) -> dict:
    data = {
        "organisme": str(organisme.pk),
        "structure": str(structure.pk),
        "reference": "CONV-2025-001",
        "date_debut": "2025-01-01",
        "date_fin": "2025-12-31",
        "max_gestionnaires": "",
        "max_techniciens": "",
        "habilitee": "",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("members", "gestionnaires", "techniciens"), [(10, 2, 5), (11, 3, 15), (26, 5, 25)]
)
def test_the_admin_form_fills_empty_quotas_from_the_structure_members(
    members, gestionnaires, techniciens
):
    structure = StructureFactory(nombre_membres=members)
    form = ConventionAdminForm(data=form_data(structure, OrganismeFactory()))
    assert form.is_valid(), form.errors
    convention = form.save()
    convention.refresh_from_db()
    assert (convention.max_gestionnaires, convention.max_techniciens) == (
        gestionnaires,
        techniciens,
    )


@pytest.mark.django_db
def test_the_admin_form_keeps_the_quotas_that_are_given():
    structure = StructureFactory(nombre_membres=40)
    form = ConventionAdminForm(
        data=form_data(structure, OrganismeFactory(), max_gestionnaires="1", max_techniciens="")
    )
    assert form.is_valid(), form.errors
    convention = form.save()
    assert (convention.max_gestionnaires, convention.max_techniciens) == (1, 25)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_gestionnaires", "0", "Assurez-vous que cette valeur est supérieure ou égale à 1."),
        ("max_gestionnaires", "6", "Assurez-vous que cette valeur est inférieure ou égale à 5."),
        ("max_techniciens", "0", "Assurez-vous que cette valeur est supérieure ou égale à 1."),
        ("max_techniciens", "26", "Assurez-vous que cette valeur est inférieure ou égale à 25."),
    ],
)
def test_the_admin_form_refuses_quotas_out_of_range(field, value, message):
    structure = StructureFactory()
    form = ConventionAdminForm(data=form_data(structure, OrganismeFactory(), **{field: value}))
    assert not form.is_valid()
    assert form.errors[field] == [message]
    assert form[field].value() == value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_gestionnaires", 1),
        ("max_gestionnaires", 5),
        ("max_techniciens", 1),
        ("max_techniciens", 25),
    ],
)
def test_quotas_at_the_limits_are_accepted(field, value):
    convention = ConventionFactory(**{field: value})
    convention.full_clean()
    assert getattr(convention, field) == value


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_gestionnaires", 0),
        ("max_gestionnaires", 6),
        ("max_techniciens", 0),
        ("max_techniciens", 26),
    ],
)
def test_the_database_refuses_quotas_out_of_range(field, value):
    with pytest.raises(IntegrityError):
        ConventionFactory(**{field: value})
    assert not Convention.objects.exists()


# --- Reference -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reference_is_unique_per_organisme():
    existing = ConventionFactory(reference="CONV-2025-001")
    duplicate = ConventionFactory.build(
        reference="CONV-2025-001", organisme=existing.organisme, structure=StructureFactory()
    )
    with pytest.raises(ValidationError) as error:
        duplicate.full_clean()
    assert error.value.messages == [REFERENCE_TAKEN]
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


@pytest.mark.django_db
def test_the_admin_form_refuses_a_reference_taken_for_the_organisme():
    existing = ConventionFactory(reference="CONV-2025-001")
    form = ConventionAdminForm(data=form_data(StructureFactory(), existing.organisme))
    assert not form.is_valid()
    assert REFERENCE_TAKEN in form.non_field_errors()


@pytest.mark.django_db
def test_the_same_reference_with_another_organisme_is_fine():
    ConventionFactory(reference="CONV-2025-001")
    other = ConventionFactory.build(
        reference="CONV-2025-001", organisme=OrganismeFactory(), structure=StructureFactory()
    )
    other.full_clean()
    other.save()
    assert Convention.objects.filter(reference="CONV-2025-001").count() == 2


# --- Overlap -------------------------------------------------------------------------------


@pytest.fixture
def existing(db):
    """A 2025 convention between a structure and an organisme."""
    return ConventionFactory(date_debut=D(2025, 1, 1), date_fin=D(2025, 12, 31))


def another(existing, date_debut, date_fin, organisme=None) -> Convention:
    return ConventionFactory.build(
        structure=existing.structure,
        organisme=organisme or existing.organisme,
        reference="CONV-SUIVANTE",
        date_debut=date_debut,
        date_fin=date_fin,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("date_debut", "date_fin"),
    [
        (D(2025, 6, 1), D(2026, 5, 31)),  # starts during
        (D(2024, 6, 1), D(2025, 1, 1)),  # ends on the first day
        (D(2025, 12, 31), None),  # starts on the last day, open-ended
        (D(2024, 1, 1), None),  # open-ended, started before
        (D(2025, 3, 1), D(2025, 4, 30)),  # inside
        (D(2024, 1, 1), D(2026, 12, 31)),  # around
    ],
)
def test_overlapping_conventions_with_the_same_organisme_are_refused(
    existing, date_debut, date_fin
):
    convention = another(existing, date_debut, date_fin)
    with pytest.raises(ValidationError) as error:
        convention.full_clean()
    assert error.value.messages == [OVERLAP]


@pytest.mark.django_db
def test_a_convention_overlapping_an_open_ended_one_is_refused():
    open_ended = ConventionFactory(date_debut=D(2020, 1, 1), date_fin=None)
    convention = another(open_ended, D(2030, 1, 1), D(2030, 12, 31))
    with pytest.raises(ValidationError) as error:
        convention.full_clean()
    assert error.value.messages == [OVERLAP]


@pytest.mark.django_db
def test_overlapping_conventions_with_different_organismes_are_allowed(existing):
    convention = another(existing, D(2025, 6, 1), None, organisme=OrganismeFactory())
    convention.full_clean()
    convention.save()
    assert existing.structure.conventions.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("date_debut", "date_fin"),
    [(D(2026, 1, 1), None), (D(2026, 1, 1), D(2026, 12, 31)), (D(2024, 1, 1), D(2024, 12, 31))],
)
def test_consecutive_conventions_with_the_same_organisme_are_allowed(
    existing, date_debut, date_fin
):
    convention = another(existing, date_debut, date_fin)
    convention.full_clean()
    convention.save()
    assert existing.structure.conventions.filter(organisme=existing.organisme).count() == 2


@pytest.mark.django_db
def test_a_convention_does_not_overlap_itself_when_modified(existing):
    existing.date_fin = D(2026, 6, 30)
    existing.full_clean()
    existing.save()
    existing.refresh_from_db()
    assert existing.date_fin == D(2026, 6, 30)


@pytest.mark.django_db
def test_the_admin_form_shows_the_overlap_message(existing):
    form = ConventionAdminForm(
        data=form_data(
            existing.structure,
            existing.organisme,
            date_debut="2025-06-01",
            date_fin="",
            max_gestionnaires="2",
            max_techniciens="5",
        )
    )
    assert not form.is_valid()
    assert form.non_field_errors() == [OVERLAP]
    assert form["date_debut"].value() == "2025-06-01"


@pytest.mark.django_db
def test_the_end_date_must_follow_the_start_date():
    convention = ConventionFactory(date_debut=D(2025, 6, 1), date_fin=None)
    convention.date_fin = D(2025, 5, 31)
    with pytest.raises(ValidationError) as error:
        convention.full_clean()
    assert error.value.message_dict["date_fin"] == ["La date de fin doit suivre la date de début."]
