"""SPEC §2: a structure's SIRET has 14 digits, passes the Luhn check (La Poste's own rule for its
SIREN 356000000) and is unique."""

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from organismes.models import StructurePartenaire
from organismes.validators import is_valid_siret, validate_siret
from tests.factories import StructureFactory

LENGTH = "Le SIRET comporte 14 chiffres."
CHECKSUM = "Ce numéro SIRET n'est pas valide : vérifiez les 14 chiffres saisis."
DUPLICATE = "Une structure avec ce SIRET existe déjà."


def passes_luhn(value: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(value)):
        number = int(digit) * (2 if index % 2 else 1)
        total += number - 9 if number > 9 else number
    return total % 10 == 0


VALID_SIRETS = ["73282932000074", "44306184100047", "21600001200015", "26600046100019"]


@pytest.mark.parametrize("siret", VALID_SIRETS)
def test_a_siret_passing_the_luhn_check_is_valid(siret):
    assert passes_luhn(siret)
    assert is_valid_siret(siret)
    validate_siret(siret)  # does not raise


@pytest.mark.parametrize("siret", ["73282932000075", "44306184100048", "12345678901234"])
def test_a_siret_failing_the_luhn_check_is_refused(siret):
    assert not is_valid_siret(siret)
    with pytest.raises(ValidationError) as error:
        validate_siret(siret)
    assert error.value.messages == [CHECKSUM]
    assert error.value.code == "siret_checksum"


def test_swapping_two_digits_is_detected():
    assert is_valid_siret("73282932000074")
    assert not is_valid_siret("37282932000074")


@pytest.mark.parametrize("siret", ["7328293200007", "732829320000740", "", "732829320"])
def test_a_siret_of_another_length_is_refused(siret):
    assert not is_valid_siret(siret)
    with pytest.raises(ValidationError) as error:
        validate_siret(siret)
    assert error.value.messages == [LENGTH]


@pytest.mark.parametrize("siret", ["7328293200007A", "73282932OOOO74", "7328293200-074"])
def test_a_siret_with_letters_or_signs_is_refused(siret):
    assert not is_valid_siret(siret)
    with pytest.raises(ValidationError) as error:
        validate_siret(siret)
    assert error.value.messages == [LENGTH]


def test_la_poste_sirets_are_valid_when_their_digits_add_up_to_a_multiple_of_5():
    # 35600000049837: its digits add up to 45, though it fails the Luhn check.
    assert not passes_luhn("35600000049837")
    assert is_valid_siret("35600000049837")
    validate_siret("35600000049837")


def test_la_poste_sirets_are_not_checked_with_luhn():
    # 35600000000014 passes Luhn, but its digits add up to 19: refused under La Poste's rule.
    assert passes_luhn("35600000000014")
    assert not is_valid_siret("35600000000014")
    with pytest.raises(ValidationError) as error:
        validate_siret("35600000000014")
    assert error.value.messages == [CHECKSUM]


def test_the_la_poste_rule_applies_to_its_siren_only():
    # Same digit sum as a valid La Poste SIRET, another SIREN: Luhn applies, and fails.
    assert not passes_luhn("35600001049836")
    assert not is_valid_siret("35600001049836")


# --- On the model --------------------------------------------------------------------------


class StructureForm(forms.ModelForm):
    class Meta:
        model = StructurePartenaire
        fields = ("nom", "siret", "adresse", "code_postal", "ville", "telephone", "nombre_membres")


def structure_data(**overrides) -> dict:
    data = {
        "nom": "CCAS DE CREIL",
        "siret": "21600001200015",
        "adresse": "1 place de la Mairie",
        "code_postal": "60100",
        "ville": "Creil",
        "telephone": "03 44 00 00 00",
        "nombre_membres": "12",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_a_structure_with_a_valid_siret_is_saved():
    form = StructureForm(data=structure_data())
    assert form.is_valid(), form.errors
    structure = form.save()
    structure.refresh_from_db()
    assert structure.siret == "21600001200015"
    assert structure.telephone == "03.44.00.00.00"


@pytest.mark.django_db
def test_the_form_shows_the_checksum_message_next_to_the_siret():
    form = StructureForm(data=structure_data(siret="21600001200016"))
    assert not form.is_valid()
    assert form.errors["siret"] == [CHECKSUM]
    assert form["siret"].value() == "21600001200016"


@pytest.mark.django_db
def test_the_form_shows_the_length_message_next_to_the_siret():
    form = StructureForm(data=structure_data(siret="2160000120001"))
    assert not form.is_valid()
    assert form.errors["siret"] == [LENGTH]


@pytest.mark.django_db
def test_full_clean_refuses_an_invalid_siret():
    structure = StructureFactory.build(siret="73282932000075")
    with pytest.raises(ValidationError) as error:
        structure.full_clean()
    assert error.value.message_dict["siret"] == [CHECKSUM]


@pytest.mark.django_db
def test_two_structures_cannot_share_a_siret():
    StructureFactory(siret="21600001200015")
    form = StructureForm(data=structure_data(nom="CCAS BIS"))
    assert not form.is_valid()
    assert form.errors["siret"] == [DUPLICATE]

    duplicate = StructureFactory.build(siret="21600001200015")
    with pytest.raises(ValidationError) as error:
        duplicate.full_clean()
    assert error.value.message_dict["siret"] == [DUPLICATE]


@pytest.mark.django_db
def test_the_database_refuses_a_duplicate_siret():
    StructureFactory(siret="21600001200015")
    with pytest.raises(IntegrityError):
        StructureFactory(siret="21600001200015")


@pytest.mark.django_db
def test_the_database_refuses_a_siret_that_is_not_14_digits():
    with pytest.raises(IntegrityError):
        StructureFactory(siret="2160000120001A")
