"""SPEC §3, field rules: what is accepted, what is stored, and the French message shown next to the
field, with what the person typed kept in the form."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.forms import AccountChangeForm, GestionnaireCreationForm
from accounts.models import Role
from core.validators import validate_name_characters
from tests.factories import ConventionFactory, GestionnaireFactory, TechnicienFactory
from tests.helpers import EMAIL_TAKEN_HERE, EMAIL_UNAVAILABLE

pytestmark = pytest.mark.django_db


NAME_CHARACTERS = "Caractères acceptés : lettres (accentuées ou non), espace, tiret et apostrophe."
ONE_NOM_REQUIRED = "Renseignez au moins un des deux noms (patronymique ou usuel)."
REQUIRED = "Ce champ est obligatoire."
TELEPHONE = (
    "Saisissez un numéro de téléphone à 10 chiffres commençant par 0, par exemple 07.00.00.00.00."
)
EMAIL_INVALID = "Saisissez une adresse de courriel valide."


def too_long(limit: int, length: int) -> str:
    return (
        f"Assurez-vous que cette valeur comporte au plus {limit} caractères "
        f"(actuellement {length})."
    )


@pytest.fixture
def convention():
    return ConventionFactory()


def creation_data(convention, **overrides) -> dict:
    data = {
        "structure": str(convention.structure.pk),
        "civilite": "MME",
        "nom_patronymique": "Pichon",
        "nom_usuel": "",
        "prenom": "Maryse",
        "fonction": "Directrice",
        "telephone": "0700000000",
        "email": "maryse.pichon@ccas.example",
    }
    data.update(overrides)
    return data


def creation_form(convention, **overrides) -> GestionnaireCreationForm:
    return GestionnaireCreationForm(
        data=creation_data(convention, **overrides), organisme=convention.organisme
    )


def assert_refused(form, field: str, message: str, typed: str) -> None:
    """The message is attached to the field and the field still shows what was typed."""
    assert not form.is_valid()
    assert form.errors[field] == [message]
    assert form.data[field] == typed
    assert form[field].value() == typed


def test_the_valid_reference_data_is_accepted(convention):
    form = creation_form(convention)
    assert form.is_valid(), form.errors


# --- Civilité ------------------------------------------------------------------------------


@pytest.mark.parametrize("civilite", ["MME", "M"])
def test_civilite_is_madame_or_monsieur(convention, civilite):
    form = creation_form(convention, civilite=civilite)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["civilite"] == civilite


def test_civilite_is_required(convention):
    assert_refused(creation_form(convention, civilite=""), "civilite", REQUIRED, "")


def test_civilite_other_than_madame_or_monsieur_is_refused(convention):
    form = creation_form(convention, civilite="MLLE")
    assert not form.is_valid()
    assert form.errors["civilite"] == ["Sélectionnez un choix valide. MLLE n’en fait pas partie."]


# --- Noms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Pichon", "PICHON"),
        ("lévêque", "LÉVÊQUE"),
        ("de la Fontaine", "DE LA FONTAINE"),
        ("d'Artagnan-Dupont", "D'ARTAGNAN-DUPONT"),
        ("N’Diaye", "N'DIAYE"),
        ("  Pichon   Martin ", "PICHON MARTIN"),
        ("Ñúñez Çağlar", "ÑÚÑEZ ÇAĞLAR"),
        # Accents typed as a letter and a combining mark (some keyboards, copies from a PDF).
        ("Le\u0301ger", "LÉGER"),
    ],
)
@pytest.mark.parametrize("field", ["nom_patronymique", "nom_usuel"])
def test_noms_accept_letters_accents_space_hyphen_apostrophe_and_are_stored_upper_case(
    convention, field, typed, stored
):
    other = "nom_usuel" if field == "nom_patronymique" else "nom_patronymique"
    form = creation_form(convention, **{field: typed, other: ""})
    assert form.is_valid(), form.errors
    assert form.cleaned_data[field] == stored
    account = form.save(commit=False)
    assert getattr(account, field) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "Pichon2",
        "Pichon!",
        "Pichon_Martin",
        "Pichon.",
        "@",
        "'-",
        "Pi\u200bchon",  # a zero-width space
        "\u202ePichon",  # a right-to-left override
    ],
)
@pytest.mark.parametrize("field", ["nom_patronymique", "nom_usuel"])
def test_noms_with_other_characters_are_refused(convention, field, typed):
    other = "nom_usuel" if field == "nom_patronymique" else "nom_patronymique"
    form = creation_form(convention, **{field: typed, other: "Martin"})
    assert_refused(form, field, NAME_CHARACTERS, typed)


@pytest.mark.parametrize("field", ["nom_patronymique", "nom_usuel"])
def test_noms_have_30_characters_at_most(convention, field):
    assert creation_form(convention, **{field: "A" * 30}).is_valid()
    typed = "A" * 31
    assert_refused(creation_form(convention, **{field: typed}), field, too_long(30, 31), typed)


def test_one_of_the_two_noms_is_enough(convention):
    only_usuel = creation_form(convention, nom_patronymique="", nom_usuel="Martin")
    assert only_usuel.is_valid(), only_usuel.errors
    only_patronymique = creation_form(convention, nom_patronymique="Pichon", nom_usuel="")
    assert only_patronymique.is_valid(), only_patronymique.errors


def test_at_least_one_of_the_two_noms_is_required(convention):
    form = creation_form(convention, nom_patronymique="", nom_usuel="", prenom="Maryse")
    assert_refused(form, "nom_patronymique", ONE_NOM_REQUIRED, "")
    assert "nom_usuel" not in form.errors
    assert form["prenom"].value() == "Maryse"


def test_at_least_one_nom_is_required_when_modifying_an_account():
    account = GestionnaireFactory(nom_patronymique="PICHON", nom_usuel="MARTIN")
    data = {
        "civilite": account.civilite,
        "nom_patronymique": "",
        "nom_usuel": "   ",
        "prenom": account.prenom,
        "fonction": account.fonction,
        "telephone": account.telephone,
        "email": account.email,
    }
    form = AccountChangeForm(data=data, instance=account)
    assert not form.is_valid()
    assert form.errors["nom_patronymique"] == [ONE_NOM_REQUIRED]


def test_the_model_refuses_a_nom_with_digits_as_the_admin_would():
    account = GestionnaireFactory.build(
        structure=ConventionFactory().structure, identifiant="m.pichon", nom_usuel="MARTIN2"
    )
    with pytest.raises(ValidationError) as error:
        account.full_clean()
    assert error.value.message_dict["nom_usuel"] == [NAME_CHARACTERS]


# --- Prénom --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("maryse", "Maryse"),
        ("MARYSE", "Maryse"),
        ("jean-pierre", "Jean-Pierre"),
        ("MARIE claire", "Marie Claire"),
        ("d'artagnan", "D'Artagnan"),
        ("élodie", "Élodie"),
        ("e\u0301lodie", "Élodie"),
        ("ANNE-SOPHIE marie", "Anne-Sophie Marie"),
    ],
)
def test_prenom_is_stored_with_a_capital_first_letter_on_each_part(convention, typed, stored):
    form = creation_form(convention, prenom=typed)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["prenom"] == stored


def test_prenom_is_required(convention):
    assert_refused(creation_form(convention, prenom=""), "prenom", REQUIRED, "")


def test_prenom_has_20_characters_at_most(convention):
    assert creation_form(convention, prenom="a" * 20).is_valid()
    typed = "a" * 21
    assert_refused(creation_form(convention, prenom=typed), "prenom", too_long(20, 21), typed)


@pytest.mark.parametrize("typed", ["Maryse2", "Maryse!", "M.", "Jean_Pierre"])
def test_prenom_with_other_characters_is_refused(convention, typed):
    assert_refused(creation_form(convention, prenom=typed), "prenom", NAME_CHARACTERS, typed)


# --- Fonction ------------------------------------------------------------------------------


def test_fonction_is_required(convention):
    assert_refused(creation_form(convention, fonction=""), "fonction", REQUIRED, "")


def test_fonction_has_20_characters_at_most(convention):
    accepted = creation_form(convention, fonction="Assistante sociale 2")
    assert accepted.is_valid(), accepted.errors
    assert accepted.cleaned_data["fonction"] == "Assistante sociale 2"
    typed = "Conseillère en insertion"
    assert_refused(
        creation_form(convention, fonction=typed), "fonction", too_long(20, len(typed)), typed
    )


# --- Téléphone -----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["0700000000", "07 00 00 00 00", "07.00.00.00.00"])
def test_telephone_is_accepted_in_three_forms_and_stored_with_dots(convention, typed):
    form = creation_form(convention, telephone=typed)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["telephone"] == "07.00.00.00.00"
    assert form.save(commit=False).telephone == "07.00.00.00.00"


def test_telephone_is_normalised_digit_for_digit(convention):
    form = creation_form(convention, telephone="03 44 12 34 56")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["telephone"] == "03.44.12.34.56"


@pytest.mark.parametrize(
    "typed",
    [
        "070000000",  # 9 digits
        "07000000000",  # 11 digits
        "07 00 00 00 0",
        "07AB000000",
        "zéro sept",
        "+33700000000",
        "07-00-00-00-00",
        "7000000000",  # does not start with 0
    ],
)
def test_telephone_other_than_ten_digits_is_refused_with_the_french_message(convention, typed):
    assert_refused(creation_form(convention, telephone=typed), "telephone", TELEPHONE, typed)


def test_telephone_is_required(convention):
    assert_refused(creation_form(convention, telephone=""), "telephone", REQUIRED, "")


# --- E-mail --------------------------------------------------------------------------------


def test_email_is_required(convention):
    assert_refused(creation_form(convention, email=""), "email", REQUIRED, "")


@pytest.mark.parametrize("typed", ["pas-un-email", "maryse@", "@ccas.example", "m pichon@a.fr"])
def test_an_invalid_email_is_refused(convention, typed):
    assert_refused(creation_form(convention, email=typed), "email", EMAIL_INVALID, typed)


def test_email_is_stored_lower_case(convention):
    form = creation_form(convention, email="  Maryse.PICHON@CCAS.Example ")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "maryse.pichon@ccas.example"


def test_email_of_an_active_account_of_the_same_role_is_refused(convention):
    GestionnaireFactory(structure=convention.structure, email="maryse.pichon@ccas.example")
    typed = "Maryse.Pichon@CCAS.example"
    assert_refused(creation_form(convention, email=typed), "email", EMAIL_TAKEN_HERE, typed)


def test_email_is_unique_across_structures_among_active_accounts_of_the_role(convention):
    other = GestionnaireFactory(email="maryse.pichon@ccas.example")  # another structure
    form = creation_form(convention)
    assert not form.is_valid()
    # Refused, but without saying where the address is used (issue 16, item 7).
    assert form.errors["email"] == [EMAIL_UNAVAILABLE]
    assert other.structure.nom not in EMAIL_UNAVAILABLE
    assert "rôle" not in EMAIL_UNAVAILABLE and "gestionnaire" not in EMAIL_UNAVAILABLE


def test_email_of_an_inactive_account_of_the_same_role_may_be_reused(convention):
    GestionnaireFactory(
        structure=convention.structure,
        email="maryse.pichon@ccas.example",
        is_active=False,
        inactivated_at=timezone.now(),
    )
    form = creation_form(convention)
    assert form.is_valid(), form.errors


def test_email_of_an_account_of_another_role_may_be_reused(convention):
    TechnicienFactory(structure=convention.structure, email="maryse.pichon@ccas.example")
    form = creation_form(convention)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "maryse.pichon@ccas.example"


def change_data(account, **overrides) -> dict:
    data = {
        "civilite": account.civilite,
        "nom_patronymique": account.nom_patronymique,
        "nom_usuel": account.nom_usuel,
        "prenom": account.prenom,
        "fonction": account.fonction,
        "telephone": account.telephone,
        "email": account.email,
    }
    data.update(overrides)
    return data


def test_an_account_keeps_its_own_email_when_modified():
    account = TechnicienFactory(email="t.durand@ccas.example")
    form = AccountChangeForm(data=change_data(account, fonction="Accueil"), instance=account)
    assert form.is_valid(), form.errors


def test_modifying_an_account_to_the_email_of_another_active_account_of_its_role_is_refused():
    account = TechnicienFactory(email="t.durand@ccas.example")
    TechnicienFactory(structure=account.structure, email="a.martin@ccas.example")
    typed = "A.Martin@ccas.example"
    form = AccountChangeForm(data=change_data(account, email=typed), instance=account)
    assert_refused(form, "email", EMAIL_TAKEN_HERE, typed)


def test_modifying_an_account_to_the_email_of_another_structures_account_says_not_where():
    account = TechnicienFactory(email="t.durand@ccas.example")
    TechnicienFactory(email="a.martin@autre.example")  # another structure
    typed = "A.Martin@autre.example"
    form = AccountChangeForm(data=change_data(account, email=typed), instance=account)
    assert_refused(form, "email", EMAIL_UNAVAILABLE, typed)


def test_modifying_an_account_to_the_email_of_a_gestionnaire_is_allowed():
    account = TechnicienFactory(email="t.durand@ccas.example")
    GestionnaireFactory(structure=account.structure, email="a.martin@ccas.example")
    form = AccountChangeForm(
        data=change_data(account, email="a.martin@ccas.example"), instance=account
    )
    assert form.is_valid(), form.errors
    assert account.role == Role.TECHNICIEN


def test_the_change_form_applies_the_same_normalisation():
    account = TechnicienFactory()
    form = AccountChangeForm(
        data=change_data(
            account,
            nom_usuel="de la tour",
            prenom="jean-pierre",
            telephone="06 12 34 56 78",
            email="JP@Example.FR",
        ),
        instance=account,
    )
    assert form.is_valid(), form.errors
    saved = form.save()
    saved.refresh_from_db()
    assert (saved.nom_usuel, saved.prenom, saved.telephone, saved.email) == (
        "DE LA TOUR",
        "Jean-Pierre",
        "06.12.34.56.78",
        "jp@example.fr",
    )


@pytest.mark.parametrize("nom", ["ΠΑΠΑΔΟΠΟΥΛΟΣ", "ИВАНОВ"])
def test_a_nom_outside_the_latin_alphabet_is_refused_since_no_identifier_could_be_built(nom):
    with pytest.raises(ValidationError):
        validate_name_characters(nom)
