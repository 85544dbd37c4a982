"""The NIR guard (SPEC §10, issue 16 item 1): one normaliser and detector in `core.nir`, on every
free-text field that a partner or an agent types.

Three parts:
- the table of spellings: every way of writing a NIR that the attacker's review found accepted
  (refused now), and the numbers a partner writes every day (never refused);
- the field walker: every CharField/TextField of our models, and every text field of our forms
  (admin intermediate pages included), carries the guard or is exempted below, with the reason;
- the service: a demande written without the portal's form is refused too.

What each form page shows (the French message next to the field, nothing saved) is tested with
each page: tests/accounts, tests/inscriptions, tests/organismes and tests/demandes,
`test_nir_guard.py`.
"""

import importlib
import pkgutil

import pytest
from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.test.utils import isolate_apps

from core.nir import NIR_MESSAGE, contains_nir, normalise, validate_no_nir
from demandes.models import Demande
from tests.factories import StructureFactory, TechnicienFactory
from tests.helpers import make_demande, with_all_offres

# The number: 1 85 05 78 006 084, key 36 as the review typed it (its true key is 91).
NIR_15 = "185057800608436"
NIR_13 = "1850578006084"

REFUSED = {
    # The spellings the old guard already refused: no regression.
    "plain, 15 digits": NIR_15,
    "plain, 13 digits": NIR_13,
    "spaces": "1 85 05 78 006 084 36",
    "spaces, 13 digits": "1 85 05 78 006 084",
    "dots": "1.85.05.78.006.084.36",
    "Corsica 2A": "1 85 03 2A 123 456 78",
    "Corsica 2B, glued": "185032B12345678",
    "Corsica 2a, lower case, 13 digits": "2 85 03 2a 123 456",
    # The 11 of 16 spellings the review found accepted.
    "dashes, 15 digits": "1-85-05-78-006-084-36",
    "dashes, 13 digits": "1-85-05-78-006-084",
    "slashes": "1/85/05/78/006/084/36",
    "underscores": "1_85_05_78_006_084_36",
    "plus signs (a form-encoded space)": "1+85+05+78+006+084+36",
    "double spaces": "1  85  05  78  006  084  36",
    "non-breaking spaces": "1\u00a085\u00a005\u00a078\u00a0006\u00a0084\u00a036",
    "narrow non-breaking spaces": "1\u202f85\u202f05\u202f78\u202f006\u202f084\u202f36",
    "zero-width space inside": "18505780\u200b0608436",
    "full-width digits": "１８５０５７８００６０８４３６",
    "glued to letters": "NIR185057800608436",
    "3-digit groups": "185 057 800 608 436",
    # Other separators and invisible characters of the same families.
    "thin spaces": "1\u200985\u200905\u200978\u2009006\u2009084\u200936",
    "tabs": "1\t85\t05\t78\t006\t084\t36",
    "a line break": "1 85 05\n78 006 084 36",
    "mixed separators": "1 85.05-78/006_084 36",
    "separators in a row": "1 - 85 - 05 - 78 - 006 - 084 - 36",
    "en dashes": "1–85–05–78–006–084–36",
    "non-breaking hyphens": "1\u201185\u201105\u201178\u2011006\u2011084\u201136",
    "minus signs": "1\u221285\u221205\u221278\u2212006\u2212084\u221236",
    "full-width hyphens": "1－85－05－78－006－084－36",
    "ideographic spaces": "１\u3000８５\u3000０５\u3000７８\u3000００６\u3000０８４\u3000３６",
    "soft hyphens": "1\u00ad85\u00ad05\u00ad78\u00ad006\u00ad084\u00ad36",
    "zero-width joiners": "1850\u200d5780\u200c0608\u2060436",
    "byte-order mark inside": "1850578\ufeff006084",
    "right-to-left override": "\u202e185057800608436\u202c",
    "Arabic-Indic digits": "١٨٥٠٥٧٨٠٠٦٠٨٤٣٦",
    "glued to letters on both sides": "ref185057800608436abc",
    "glued to letters, 13 digits": "AB1850578006084",
    "in a sentence": "Son numéro est le 1 85 05 78 006 084 36, merci.",
    "in brackets": "(1-85-05-78-006-084-36)",
    "followed by a phone, unbroken": "185057800608436 06 12 34 56 78",
    "followed by a phone, with its true key": "185 057 800 608 491 06 12 34 56 78",
    "postcode-like groups, with a true key": "18505 78006 08491",
    "first digit 2": "2 85 05 78 006 084 36",
    "first digit 7": "7 85 05 78 006 084",
    "first digit 8": "8-85-05-78-006-084-36",
}

ACCEPTED = {
    # Phones
    "phone +33": "+33 6 12 34 56 78",
    "phone +33, glued": "+33612345678",
    "phone 0033": "0033 6 12 34 56 78",
    "phone, dotted": "06.12.34.56.78",
    "phone, spaced": "06 12 34 56 78",
    "phone, dashes": "06-12-34-56-78",
    "phone, glued": "0612345678",
    "two phones": "06 12 34 56 78 / 07 11 22 33 44",
    "two phones, glued": "0612345678 0711223344",
    # Dates and times
    "date, French": "01/02/2026",
    "date, ISO": "2026-02-01",
    "date, dotted": "01.02.2026",
    "a period": "du 01/02/2026 au 15/03/2026",
    "a period, with a dash": "01/02/2026 - 15/03/2026",
    "a birth date": "né le 12 03 1985",
    "a time": "14:30",
    "a time, French": "de 9 h 30 à 12h30",
    # Companies and banks
    "SIRET, spaced": "732 829 320 00074",
    "SIRET, glued": "73282932000074",
    "SIREN": "732 829 320",
    "SIREN, glued": "732829320",
    "IBAN": "FR76 3000 6000 0112 3456 7890 189",
    "IBAN, glued": "FR7630006000011234567890189",
    # References, amounts, postcodes
    "reference": "EP-2026-000123",
    "two references": "EP-2026-000123 et EP-2026-000124",
    "two references, slashed": "EP-2026-000123/EP-2026-000124",
    "convention reference": "CONV-60-0042",
    "amount": "1 234,56 €",
    "large amount": "12 345 678,90",
    "large amount, euros": "12 345 678,90 €",
    "amount without cents": "1 234 567 €",
    "postcode": "75015",
    "postcode and city": "60100 Creil",
    "a list of postcodes": "13001 13002 13003",
    # Longer numbers that are not NIRs
    "12 digits": "123456789012",
    "16 digits (a card)": "1234567890123456",
    "first digit 5": "5850578006084",
    "first digit 0": "0850578006084",
    "month 00": "1 85 00 78 006 084 36",
    "month 13": "1851378006084",
    "a name": "Louise MARTIN",
    "nothing": "",
    "a whole message": (
        "Bonjour, Mme MARTIN (tél. 06 12 34 56 78, +33 7 11 22 33 44) a rendez-vous le "
        "01/02/2026 à 14h30 ; SIRET 732 829 320 00074 ; IBAN FR76 3000 6000 0112 3456 7890 189 ; "
        "demande EP-2026-000123 ; reste à payer 1 234,56 € ; 60100 Creil."
    ),
}


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_a_nir_is_found_however_it_is_written(text):
    assert contains_nir(text)
    with pytest.raises(ValidationError) as refused:
        validate_no_nir(text)
    assert refused.value.messages == [str(NIR_MESSAGE)]
    assert refused.value.error_list[0].code == "nir"


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_phones_dates_siret_iban_references_and_amounts_are_never_refused(text):
    assert not contains_nir(text)
    validate_no_nir(text)


def test_the_message_is_the_french_explanation_of_before():
    assert str(NIR_MESSAGE) == (
        "Ce texte semble contenir un numéro de sécurité sociale (NIR) : il est interdit de le "
        "transmettre par Espace Partenaires. Retirez-le ; l'organisme retrouvera l'assuré avec "
        "son nom, son prénom et sa date de naissance."
    )


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("１８５", "185"),  # full-width digits (NFKC)
        ("١٨٥", "185"),  # any decimal digit
        ("18\u200b5", "185"),  # zero-width space removed
        ("1\u00ad8\ufeff5\u2060", "185"),  # soft hyphen, BOM, word joiner removed
        ("\u202eabc\u202c", "abc"),  # bidi controls removed
        ("1\u00a08\u202f5", "1 8 5"),  # no-break spaces become spaces
        ("1–8\u22125", "1-8-5"),  # dashes and minus signs become '-'
        ("ﬁn", "fin"),  # NFKC
    ],
)
def test_the_normaliser(typed, normalised):
    assert normalise(typed) == normalised


# --- The key: where a 15-digit candidate is ambiguous -----------------------------------------


def test_grouped_like_postcodes_the_key_decides():
    """'13001 13002 13003' is three postcodes; grouped the same way with the true key of its
    first 13 digits (89) it is a NIR."""
    assert not contains_nir("13001 13002 13003")
    assert contains_nir("13001 13002 13089")


def test_inside_a_longer_run_of_numbers_the_key_decides():
    """An IBAN's tail, or a NIR followed by a phone: 15 digits inside a longer run are refused
    when their key is the true one."""
    assert not contains_nir("185 057 800 608 436 06 12 34 56 78")  # wrong key: not said to be one
    assert contains_nir("185 057 800 608 491 06 12 34 56 78")
    assert contains_nir("FR76 3000 6000 1850 5780 0608 491")  # its check digits are wrong


def test_an_iban_whose_check_digits_are_right_is_never_refused():
    # The same bank account as above with its true check digits (90): a real IBAN, whose last
    # 15 digits happen to make a NIR with its right key (one IBAN in a few hundred).
    assert not contains_nir("FR90 3000 6000 1850 5780 0608 491")
    assert not contains_nir("IBAN : FR90 3000 6000 1850 5780 0608 491.")
    assert not contains_nir("fr9030006000185057800608491")
    # A NIR beside an IBAN is still found.
    assert contains_nir("FR90 3000 6000 1850 5780 0608 491 ; NIR 1 85 05 78 006 084 91")


def test_standing_alone_a_nir_is_refused_whatever_its_key():
    # A typo in the key still discloses the person: the key only settles ambiguous groupings.
    assert contains_nir("1 85 05 78 006 084 36")
    assert contains_nir("1 85 05 78 006 084 91")
    assert contains_nir("185 057 800 608 436")


def test_corsica_counts_as_19_and_18_in_the_key():
    # 1 85 03 2A 123 456: the key is computed on 1 85 03 19 123 456, i.e. 01.
    assert contains_nir("18503 2A123 45601 06 12 34 56 78")
    assert not contains_nir("18503 2A123 45602 06 12 34 56 78")


# --- The field walker -------------------------------------------------------------------------

OUR_APPS = (
    "core",
    "notifications",
    "audit",
    "organismes",
    "conventions",
    "accounts",
    "demandes",
    "inscriptions",
    "espace_partenaires",
)

NAME = "a person's name: letters, space, hyphen and apostrophe only (core.validators), no digit"
EMAIL = "an e-mail address: its own validator, and the SPEC leaves addresses aside"
PHONE = "a phone: ten digits, nothing else (core.validators.validate_telephone)"
CHOICE = "a choice among fixed values, never typed"
MACHINE = "set by the code, never typed"

# Model fields without the guard, each with its reason.
EXEMPT_MODEL_FIELDS = {
    ("accounts.User", "password"): "a password hash",
    ("accounts.User", "identifiant"): "the login identifier, made by the code from the name",
    ("accounts.User", "role"): CHOICE,
    ("accounts.User", "civilite"): CHOICE,
    ("accounts.User", "nom_patronymique"): NAME,
    ("accounts.User", "nom_usuel"): NAME,
    ("accounts.User", "prenom"): NAME,
    ("accounts.User", "telephone"): PHONE,
    ("accounts.User", "email"): EMAIL,
    ("accounts.User", "cgu_version"): MACHINE,
    ("accounts.User", "email_invalide_motif"): MACHINE + " (the provider's event)",
    ("accounts.Invitation", "token_hash"): MACHINE + " (a hash)",
    ("accounts.AccountEvent", "kind"): CHOICE,
    ("organismes.Organisme", "code"): "the organisme's code: 10 characters, too short for a NIR",
    ("organismes.Organisme", "email_referent"): EMAIL,
    ("organismes.StructureEvent", "kind"): CHOICE,
    ("organismes.StructurePartenaire", "siret"): "a SIRET: 14 digits checked by Luhn",
    ("organismes.StructurePartenaire", "code_postal"): "a postcode: 5 digits",
    ("organismes.StructurePartenaire", "telephone"): PHONE,
    ("conventions.Offre", "code"): "a slug chosen by the code (catalogue of offers)",
    ("demandes.Demande", "reference"): MACHINE + " (EP-2026-000123)",
    ("demandes.Demande", "motif"): CHOICE + " (the offer's catalogue)",
    ("demandes.Demande", "civilite"): CHOICE,
    ("demandes.Demande", "departement"): CHOICE,
    ("demandes.Demande", "categorie_urgence"): CHOICE,
    ("demandes.Demande", "statut"): CHOICE,
    ("demandes.Evenement", "kind"): CHOICE,
    ("demandes.Evenement", "statut"): CHOICE,
    ("demandes.PieceJointe", "sens"): CHOICE,
    ("demandes.FundEvent", "kind"): CHOICE,
    ("demandes.NotificationPreferences", "nouvelle_urgente"): CHOICE,
    ("demandes.NotificationPreferences", "nouvelle"): CHOICE,
    ("demandes.NotificationPreferences", "complement_fourni"): CHOICE,
    ("demandes.NotificationPreferences", "message_partenaire"): CHOICE,
    ("demandes.PieceJointe", "type_mime"): MACHINE + " (from the file's content)",
    ("inscriptions.PreInscription", "siret"): "a SIRET: 14 digits checked by Luhn",
    ("inscriptions.PreInscription", "code_postal"): "a postcode: 5 digits",
    ("inscriptions.PreInscription", "structure_telephone"): PHONE,
    ("inscriptions.PreInscription", "civilite"): CHOICE,
    ("inscriptions.PreInscription", "nom_patronymique"): NAME,
    ("inscriptions.PreInscription", "nom_usuel"): NAME,
    ("inscriptions.PreInscription", "prenom"): NAME,
    ("inscriptions.PreInscription", "telephone"): PHONE,
    ("inscriptions.PreInscription", "email"): EMAIL,
    ("inscriptions.PreInscription", "cgu_version"): MACHINE,
    ("inscriptions.PreInscription", "statut"): CHOICE,
    ("inscriptions.MessageContact", "motif"): CHOICE,
    ("inscriptions.MessageContact", "email"): EMAIL,
    ("notifications.SentEmail", "template"): MACHINE,
    ("notifications.SentEmail", "recipient"): EMAIL,
    ("notifications.SentEmail", "reply_to"): EMAIL,
    ("notifications.SentEmail", "subject"): MACHINE + " (rendered from a template)",
    ("notifications.SentEmail", "status"): CHOICE,
    ("notifications.SentEmail", "task"): MACHINE,
    ("notifications.SentEmail", "error"): MACHINE + " (the provider's answer)",
    ("notifications.SentEmail", "request_id"): MACHINE + " (the log lines' request id)",
    ("audit.AccessLogEntry", "user_label"): MACHINE + " (the account's identifiant)",
    ("audit.AccessLogEntry", "action"): CHOICE,
    ("audit.AccessLogEntry", "object_type"): CHOICE,
    ("audit.AccessLogEntry", "reference"): MACHINE + " (a demande's or a convention's reference)",
    # The history of changes copies, written out, values already typed through a guarded field.
    ("core.HistoryEntry", "by_role"): MACHINE + " (the author's role label)",
    ("core.HistoryEntry", "object_id"): MACHINE,
    ("core.HistoryEntry", "object_repr"): MACHINE + " (the object's name)",
    ("core.HistoryEntry", "action"): CHOICE,
    ("core.HistoryEntry", "summary"): MACHINE + " (a fixed label)",
    ("core.HistoryEntry", "reason"): MACHINE + " (a copy of a reason typed in a guarded field)",
}

# Form fields that are not a model field's (whose guard the ModelForm applies) and carry no
# guard, each with its reason.
EXEMPT_FORM_FIELDS = {
    ("accounts.forms.LoginForm", "username"): "the login identifier",
    ("accounts.forms.LoginForm", "password"): "a password, never stored nor shown",
    ("accounts.forms.PasswordChangeForm", "old_password"): "a password, never stored nor shown",
    ("accounts.forms.PasswordChangeForm", "new_password1"): "a password, never stored nor shown",
    ("accounts.forms.PasswordChangeForm", "new_password2"): "a password, never stored nor shown",
    ("accounts.forms.SetPasswordForm", "new_password1"): "a password, never stored nor shown",
    ("accounts.forms.SetPasswordForm", "new_password2"): "a password, never stored nor shown",
    ("accounts.forms.EmailRequestForm", "email"): EMAIL,
    ("accounts.forms.SecondFactorCodeForm", "code"): (
        "a one-time code of the second factor, checked against the devices, never stored nor shown"
    ),
}


def is_text(field: models.Field) -> bool:
    return isinstance(field, models.CharField | models.TextField)


def has_guard(field) -> bool:
    return validate_no_nir in field.validators


def unguarded_model_fields(model_classes) -> list[tuple[str, str]]:
    """The text fields of these models (their own, not inherited from a concrete parent) that
    carry no guard and are not exempted."""
    found = []
    for model in model_classes:
        if model._meta.proxy:
            continue  # the same fields as the concrete model's
        for field in model._meta.get_fields():
            if not is_text(field) or field.model is not model:
                continue
            key = (model._meta.label, field.name)
            if not has_guard(field) and key not in EXEMPT_MODEL_FIELDS:
                found.append(key)
    return found


def our_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if model._meta.app_label in OUR_APPS]


def our_form_classes() -> list[type[forms.BaseForm]]:
    """Every form class our code defines: each module of our apps is imported, then the form
    classes' subclasses walked (the admin's generated forms are the models' fields)."""
    for app in OUR_APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" not in module.name and not module.name.endswith(("wsgi", "asgi")):
                importlib.import_module(module.name)
    found, todo = [], [forms.BaseForm]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in OUR_APPS and "<locals>" not in cls.__qualname__:
            found.append(cls)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def guarded_by_its_model(form_class, name: str) -> bool | None:
    """For a ModelForm's field that is a model field: does the model's validation (which the
    ModelForm runs, putting the error next to the field) guard it? None: not a model field."""
    meta = getattr(form_class, "_meta", None)
    model = getattr(meta, "model", None)
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except Exception:
        return None
    if meta.exclude and name in meta.exclude:
        return None
    if meta.fields not in (None, "__all__") and name not in meta.fields:
        return None
    key = (field.model._meta.concrete_model._meta.label, field.name)
    return has_guard(field) or key in EXEMPT_MODEL_FIELDS


def unguarded_form_fields(form_classes) -> list[tuple[str, str]]:
    found = []
    for form_class in form_classes:
        label = f"{form_class.__module__}.{form_class.__qualname__}"
        for name, field in form_class.base_fields.items():
            if not isinstance(field, forms.CharField) or field.widget.is_hidden:
                continue
            if has_guard(field) or (label, name) in EXEMPT_FORM_FIELDS:
                continue
            if guarded_by_its_model(form_class, name):
                continue
            found.append((label, name))
    return found


def test_every_text_field_of_our_models_carries_the_guard_or_says_why_not():
    assert unguarded_model_fields(our_models()) == []


def test_every_text_field_of_our_forms_carries_the_guard_or_says_why_not():
    form_classes = our_form_classes()
    # The walk reaches the portal's, the public pages' and the admin's intermediate forms.
    labels = {f"{cls.__module__}.{cls.__qualname__}" for cls in form_classes}
    assert {
        "accounts.forms.ReactivationForm",
        "core.admin_actions.ReasonForm",
        "demandes.admin.processing.ClotureForm",
        "demandes.forms.DemandeForm",
        "inscriptions.forms.ContactForm",
        "organismes.forms.CoordonneesForm",
    } <= labels
    assert unguarded_form_fields(form_classes) == []


def test_every_exemption_names_a_field_that_exists_and_lacks_the_guard():
    """No stale exemption: a field renamed, removed or guarded since must leave the list."""
    for (label, name), reason in EXEMPT_MODEL_FIELDS.items():
        field = apps.get_model(label)._meta.get_field(name)
        assert reason and is_text(field) and not has_guard(field), (label, name)
    form_classes = {f"{cls.__module__}.{cls.__qualname__}": cls for cls in our_form_classes()}
    for (label, name), reason in EXEMPT_FORM_FIELDS.items():
        field = form_classes[label].base_fields[name]
        assert reason and not has_guard(field), (label, name)


def test_the_walker_reports_a_text_field_without_the_guard():
    with isolate_apps("organismes"):

        class Carnet(models.Model):
            note = models.TextField()
            ligne = models.CharField(max_length=100)
            gardee = models.TextField(validators=[validate_no_nir])
            nombre = models.IntegerField()

            class Meta:
                app_label = "organismes"

            def __str__(self) -> str:
                return self.ligne

        assert unguarded_model_fields([Carnet]) == [
            ("organismes.Carnet", "note"),
            ("organismes.Carnet", "ligne"),
        ]

    class CarnetForm(forms.Form):
        note = forms.CharField()
        gardee = forms.CharField(validators=[validate_no_nir])
        jour = forms.DateField()

    label = f"{__name__}.{CarnetForm.__qualname__}"
    assert unguarded_form_fields([CarnetForm]) == [(label, "note")]


# --- The model fields hold the rule, and so does the service that validates -------------------


@pytest.mark.django_db
def test_a_model_field_refuses_a_nir_in_full_clean():
    structure = StructureFactory.build()
    structure.adresse = "1-85-05-78-006-084-36 rue de la Paix"
    with pytest.raises(ValidationError) as refused:
        structure.full_clean(exclude=["siret"])
    assert refused.value.message_dict["adresse"] == [str(NIR_MESSAGE)]


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["nom", "prenom", "commentaire"])
def test_the_demande_service_refuses_a_nir_without_the_form(field):
    convention = with_all_offres()
    technicien = TechnicienFactory(structure=convention.structure)
    value = {"nom": "MARTIN\u00a0185057800608436", "prenom": "Jeanne 1_85_05_78_006_084"}.get(
        field, "Son NIR : 1/85/05/78/006/084/36"
    )

    with pytest.raises(ValidationError) as refused:
        make_demande(technicien, convention, **{field: value})

    assert refused.value.message_dict[field] == [str(NIR_MESSAGE)]
    assert not Demande.objects.exists()
