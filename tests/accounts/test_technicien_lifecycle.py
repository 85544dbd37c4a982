"""SPEC §4 and the manual's chapter IV §2.2–2.3: a gestionnaire inactivates and reactivates the
techniciens of the structure, and resends a pending invitation."""

import re
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEvent, Civilite, Invitation, User
from tests.factories import (
    TEST_PASSWORD,
    ConventionFactory,
    GestionnaireFactory,
    TechnicienFactory,
)
from tests.helpers import log_in

pytestmark = pytest.mark.django_db

LIST_URL = reverse("accounts:techniciens")
CREATE_URL = reverse("accounts:technicien_create")
SET_PASSWORD_URL = "/invitation/creer-mot-de-passe/"
LINK_RE = re.compile(r"http://127\.0\.0\.1:8000(/invitation/[A-Za-z0-9_-]+/)")
NEW_PASSWORD = "Cerisier-Bleu-Lanterne-71"

# French typography (issue 19, item 9): a narrow no-break space keeps the "?" with its word.
INACTIVATE_QUESTION = "Êtes-vous sûr de vouloir inactiver ce compte\u202f?"
REACTIVATE_QUESTION = "Êtes-vous sûr de vouloir réactiver ce compte\u202f?"
REASON_LABEL = "Préciser le motif de réactivation"
# The manual's §IV-2.3 label, its required marker and its limit (issue 19, item 4).
REASON_LABEL_OF_THE_MANUAL = (
    'Préciser le motif de réactivation <span class="required-marker">*</span> '
    "(5000 caractères maximum)"
)
REASON_REQUIRED = "Le motif de réactivation est obligatoire."
LAST_ACTIVE_REFUSAL = (
    "C'est le dernier technicien actif de la structure : créez d'abord le compte qui le remplace."
)
NOT_WAITING_REFUSAL = (
    "Ce compte n'attend pas d'invitation : il est inactif ou son mot de passe existe."
)
INVALID_LINK = "Ce lien n'est plus valide"
ACCOUNT_ROW_RE = re.compile(
    r'<li class="account (account-active|account-inactive)">\s*'
    r'<div class="account-identity">\s*<p class="account-name">([^<]*)</p>'
)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"


@pytest.fixture
def convention():
    return ConventionFactory()


@pytest.fixture
def structure(convention):
    return convention.structure


@pytest.fixture
def gestionnaire(structure):
    return GestionnaireFactory(structure=structure, prenom="Gilles", nom_patronymique="GESTION")


@pytest.fixture
def gestionnaire_client(client, gestionnaire):
    """The gestionnaire, logged in, with the organisme of the only convention selected."""
    client.force_login(gestionnaire)
    client.get(reverse("accounts:organisme_selection"))
    assert client.get(LIST_URL).status_code == 200
    return client


def technicien(structure, *, active=True, **fields):
    if not active:
        fields |= {"is_active": False, "inactivated_at": timezone.now()}
    return TechnicienFactory(structure=structure, **fields)


@pytest.fixture
def maryse(structure):
    """Madame MARTIN Maryse (née PICHON), m.pichon, as in the manual."""
    return technicien(
        structure,
        identifiant="m.pichon",
        nom_patronymique="PICHON",
        nom_usuel="MARTIN",
        prenom="Maryse",
        email="maryse.pichon@assurance-maladie.fr",
        telephone="06.00.00.00.00",
    )


@pytest.fixture
def victor(structure):
    """Monsieur CHAUSSON Victor, v.chausson2, as in the manual."""
    return technicien(
        structure,
        identifiant="v.chausson2",
        civilite=Civilite.MONSIEUR,
        nom_patronymique="CHAUSSON",
        prenom="Victor",
        fonction="Bénévole",
        email="victor.chausson@assurance-maladie.fr",
    )


@pytest.fixture
def inactive_victor(structure):
    return technicien(
        structure,
        active=False,
        identifiant="v.chausson2",
        civilite=Civilite.MONSIEUR,
        nom_patronymique="CHAUSSON",
        prenom="Victor",
        fonction="Bénévole",
        email="victor.chausson@assurance-maladie.fr",
    )


def inactivate_url(account: User) -> str:
    return reverse("accounts:technicien_inactivate", args=[account.pk])


def reactivate_url(account: User) -> str:
    return reverse("accounts:technicien_reactivate", args=[account.pk])


def resend_url(account: User) -> str:
    return reverse("accounts:technicien_resend_invitation", args=[account.pk])


def listed_accounts(client) -> list[tuple[str, str]]:
    """[(css class, "Civilité NOM Prénom")] in the order of the list page."""
    response = client.get(LIST_URL)
    assert response.status_code == 200
    return [(css, " ".join(name.split())) for css, name in ACCOUNT_ROW_RE.findall(response.text)]


def switch_of(html: str, url: str) -> str:
    """The attributes of the switch button of the form posting to `url`."""
    match = re.search(
        rf'<form method="get" action="{re.escape(url)}"[^>]*>\s*<button ([^>]*)>', html
    )
    assert match, f"no switch for {url}"
    return match.group(1)


def messages_of(response) -> list[str]:
    """The messages waiting for the next page (the helpers consume the earlier ones)."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def link_in(email) -> str:
    """The path of the "Créer mon mot de passe" link of an invitation e-mail."""
    [path] = set(LINK_RE.findall(email.body))
    return path


def open_link(client, path: str):
    """Follow the e-mail link as a browser does (the token moves into the session)."""
    response = client.get(path)
    assert response.status_code == 302
    return client.get(response["Location"])


def set_password(client, path: str, password: str = NEW_PASSWORD):
    page = open_link(client, path)
    assert page.status_code == 200
    assert 'name="new_password1"' in page.text
    response = client.post(SET_PASSWORD_URL, {"new_password1": password, "new_password2": password})
    assert response.status_code == 302
    return response


def events(account: User, kind) -> list[AccountEvent]:
    return list(AccountEvent.objects.filter(account=account, kind=kind))


def create_through_the_form(gestionnaire_client, on_commit, **fields) -> User:
    data = {
        "civilite": Civilite.MONSIEUR,
        "nom_patronymique": "CHAUSSON",
        "nom_usuel": "",
        "prenom": "Victor",
        "fonction": "Bénévole",
        "telephone": "0700000000",
        "email": "victor.chausson@assurance-maladie.fr",
    } | fields
    with on_commit():
        response = gestionnaire_client.post(CREATE_URL, data)
    assert response.status_code == 302, response.context["form"].errors
    gestionnaire_client.get(response["Location"])  # shows (and so consumes) the message
    return User.objects.get(email=data["email"], is_active=True)


# --- Inactivation ---------------------------------------------------------------------------


def test_the_inactivation_page_asks_for_confirmation_and_changes_nothing(
    gestionnaire_client, maryse, victor
):
    response = gestionnaire_client.get(inactivate_url(victor))

    assert response.status_code == 200
    html = response.text
    assert INACTIVATE_QUESTION in html
    form = re.search(r'<form method="post">(.*?)</form>', html, re.S)
    assert form, "the question posts a form to the same address"
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert re.search(r'<button type="submit" class="button">OUI</button>', form.group(1))
    assert f'href="{LIST_URL}">NON</a>' in form.group(1)
    victor.refresh_from_db()
    assert victor.is_active
    assert victor.inactivated_at is None
    assert events(victor, AccountEvent.Kind.INACTIVATED) == []


def test_the_oui_of_the_inactivation_page_needs_its_csrf_token(gestionnaire, maryse, victor):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(gestionnaire)
    strict.get(reverse("accounts:organisme_selection"))

    response = strict.post(inactivate_url(victor))

    assert response.status_code == 403
    victor.refresh_from_db()
    assert victor.is_active


def test_oui_inactivates_the_account(gestionnaire_client, gestionnaire, maryse, victor):
    response = gestionnaire_client.post(inactivate_url(victor))

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    assert messages_of(response) == ["Le compte de Victor CHAUSSON est inactivé."]
    victor.refresh_from_db()
    assert not victor.is_active
    assert victor.inactivated_at is not None
    [event] = events(victor, AccountEvent.Kind.INACTIVATED)
    assert event.by == gestionnaire
    maryse.refresh_from_db()
    assert maryse.is_active


def test_the_inactivated_account_can_no_longer_log_in(gestionnaire_client, maryse, victor):
    other = Client()
    assert log_in(other, "v.chausson2", TEST_PASSWORD)

    gestionnaire_client.post(inactivate_url(victor))

    assert not log_in(other, "v.chausson2", TEST_PASSWORD)


def test_the_inactivated_account_turns_grey_and_moves_to_the_bottom(
    gestionnaire_client, structure, maryse, victor
):
    technicien(structure, nom_patronymique="DURAND", prenom="Zoé", email="zoe@example.org")
    assert listed_accounts(gestionnaire_client) == [
        ("account-active", "Monsieur CHAUSSON Victor"),
        ("account-active", "Madame DURAND Zoé"),
        ("account-active", "Madame MARTIN Maryse"),
    ]

    gestionnaire_client.post(inactivate_url(victor))

    assert listed_accounts(gestionnaire_client) == [
        ("account-active", "Madame DURAND Zoé"),
        ("account-active", "Madame MARTIN Maryse"),
        ("account-inactive", "Monsieur CHAUSSON Victor"),
    ]
    html = gestionnaire_client.get(LIST_URL).text
    assert 'aria-checked="false"' in switch_of(html, reactivate_url(victor))


def test_inactivation_kills_the_pending_invitation_link(
    gestionnaire_client, maryse, on_commit, client
):
    victor = create_through_the_form(gestionnaire_client, on_commit)
    [email] = mail.outbox
    link = link_in(email)

    gestionnaire_client.post(inactivate_url(victor))

    assert Invitation.objects.get(account=victor).revoked_at is not None
    browser = Client()
    response = open_link(browser, link)
    assert response.status_code in (404, 410)
    assert INVALID_LINK in response.text
    assert 'name="new_password1"' not in response.text
    browser.post(SET_PASSWORD_URL, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    victor.refresh_from_db()
    assert not victor.has_usable_password()
    assert not log_in(browser, "v.chausson2", NEW_PASSWORD)


def test_a_get_request_never_inactivates(gestionnaire_client, maryse, victor):
    for _attempt in range(2):
        response = gestionnaire_client.get(inactivate_url(victor), {"confirm": "OUI"})
        assert response.status_code == 200

    victor.refresh_from_db()
    assert victor.is_active
    assert events(victor, AccountEvent.Kind.INACTIVATED) == []


def test_the_switch_of_the_last_active_technicien_is_disabled(
    gestionnaire_client, structure, maryse
):
    technicien(structure, active=False, nom_patronymique="DURAND", email="durand@example.org")

    html = gestionnaire_client.get(LIST_URL).text

    assert " disabled" in switch_of(html, inactivate_url(maryse))
    assert "Le dernier compte technicien actif ne peut pas être inactivé" in html


def test_the_switches_are_enabled_while_two_techniciens_are_active(
    gestionnaire_client, maryse, victor
):
    html = gestionnaire_client.get(LIST_URL).text

    for account in (maryse, victor):
        assert "disabled" not in switch_of(html, inactivate_url(account))
    assert "Le dernier compte technicien actif ne peut pas être inactivé" not in html


def test_the_inactivation_page_of_the_last_active_technicien_explains_and_offers_no_oui(
    gestionnaire_client, maryse, inactive_victor
):
    response = gestionnaire_client.get(inactivate_url(maryse))

    assert response.status_code == 200
    assert "C'est le dernier compte technicien actif de la structure" in response.text
    assert "Créez d'abord le compte qui le remplace." in response.text
    assert ">OUI<" not in response.text
    assert '<form method="post">' not in response.text


def test_the_last_active_technicien_cannot_be_inactivated(
    gestionnaire_client, maryse, inactive_victor
):
    response = gestionnaire_client.post(inactivate_url(maryse))

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    assert messages_of(response) == [LAST_ACTIVE_REFUSAL]
    maryse.refresh_from_db()
    assert maryse.is_active
    assert maryse.inactivated_at is None
    assert events(maryse, AccountEvent.Kind.INACTIVATED) == []
    assert log_in(Client(), "m.pichon", TEST_PASSWORD)


def test_once_the_replacement_exists_the_former_last_technicien_can_be_inactivated(
    gestionnaire_client, maryse, on_commit
):
    assert gestionnaire_client.post(inactivate_url(maryse)).status_code == 302
    maryse.refresh_from_db()
    assert maryse.is_active

    create_through_the_form(gestionnaire_client, on_commit)
    gestionnaire_client.post(inactivate_url(maryse))

    maryse.refresh_from_db()
    assert not maryse.is_active


def test_inactivating_an_inactive_account_changes_nothing(
    gestionnaire_client, maryse, inactive_victor
):
    inactivated_at = inactive_victor.inactivated_at

    response = gestionnaire_client.get(inactivate_url(inactive_victor))
    assert "Ce compte est déjà inactif." in response.text
    gestionnaire_client.post(inactivate_url(inactive_victor))

    inactive_victor.refresh_from_db()
    assert not inactive_victor.is_active
    assert inactive_victor.inactivated_at == inactivated_at
    assert events(inactive_victor, AccountEvent.Kind.INACTIVATED) == []


def test_the_history_shows_the_inactivation(gestionnaire_client, maryse, victor):
    gestionnaire_client.post(inactivate_url(victor))

    response = gestionnaire_client.get(reverse("accounts:technicien_history", args=[victor.pk]))

    assert response.status_code == 200
    assert '<td data-label="Événement">Inactivation</td>' in response.text
    assert "Gilles GESTION" in response.text


# --- Reactivation ---------------------------------------------------------------------------


def test_the_reactivation_page_first_asks_for_confirmation_only(
    gestionnaire_client, maryse, inactive_victor
):
    """Step 1 of the manual's §IV-2.3: the question with OUI / NON, nothing else."""
    response = gestionnaire_client.get(reactivate_url(inactive_victor))

    assert response.status_code == 200
    html = response.text
    assert REACTIVATE_QUESTION in html
    form = re.search(r'<form method="post">(.*?)</form>', html, re.S)
    assert form, "OUI posts a form to the same address"
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert re.search(r'<button type="submit" class="button">OUI</button>', form.group(1))
    assert f'href="{LIST_URL}">NON</a>' in form.group(1)
    assert "<textarea" not in html
    assert REASON_LABEL not in html
    assert "VALIDER" not in html
    inactive_victor.refresh_from_db()
    assert not inactive_victor.is_active
    assert events(inactive_victor, AccountEvent.Kind.REACTIVATED) == []
    assert mail.outbox == []


def test_oui_leads_to_the_reason_step_with_annuler_and_valider(
    gestionnaire_client, maryse, inactive_victor, on_commit
):
    """Step 2: "Préciser le motif de réactivation * (5000 caractères maximum)", ANNULER /
    VALIDER; OUI itself changes nothing and shows no error."""
    with on_commit():
        response = gestionnaire_client.post(reactivate_url(inactive_victor))

    assert response.status_code == 200
    html = response.text
    assert REASON_LABEL_OF_THE_MANUAL in html
    textarea = re.search(r"<textarea [^>]*>", html).group(0)
    assert 'name="motif"' in textarea
    assert 'aria-required="true"' in textarea
    # No maxlength that would cut a pasted text silently, no browser bubble: the server says.
    assert "maxlength" not in textarea
    assert " required" not in textarea
    assert re.search(r'<form method="post" class="form" novalidate>', html)
    assert re.search(r'<button type="submit" class="button">VALIDER</button>', html)
    assert f'href="{LIST_URL}">ANNULER</a>' in html
    assert ">OUI<" not in html
    assert "errorlist" not in html
    assert REASON_REQUIRED not in html
    inactive_victor.refresh_from_db()
    assert not inactive_victor.is_active
    assert events(inactive_victor, AccountEvent.Kind.REACTIVATED) == []
    assert mail.outbox == []


def test_an_empty_reason_is_refused_next_to_the_field_on_the_reason_step(
    gestionnaire_client, maryse, inactive_victor
):
    response = gestionnaire_client.post(reactivate_url(inactive_victor), {"motif": ""})

    html = response.text
    assert re.search(
        rf'<ul class="errorlist" id="id_motif_error"><li>{REASON_REQUIRED}</li></ul>', html
    )
    assert REASON_LABEL_OF_THE_MANUAL in html
    assert re.search(r'<button type="submit" class="button">VALIDER</button>', html)
    inactive_victor.refresh_from_db()
    assert not inactive_victor.is_active


def test_the_list_switch_of_an_inactive_account_asks_the_reactivation_question(
    gestionnaire_client, maryse, inactive_victor
):
    html = gestionnaire_client.get(LIST_URL).text

    form = re.search(
        rf'<form method="get" action="{re.escape(reactivate_url(inactive_victor))}"([^>]*)>', html
    )
    assert form
    assert f'data-confirm="{REACTIVATE_QUESTION}"' in form.group(1)
    assert "data-reason" in form.group(1)
    dialog = re.search(r'<dialog id="confirm-dialog".*?</dialog>', html, re.S).group(0)
    assert REASON_LABEL_OF_THE_MANUAL in dialog
    textarea = re.search(r"<textarea [^>]*>", dialog).group(0)
    assert 'name="motif"' in textarea
    assert 'aria-required="true"' in textarea
    assert "maxlength" not in textarea  # the server refuses more than 5000, with its message
    assert re.search(r'<form method="post" class="form" novalidate>', dialog)
    assert 'name="csrfmiddlewaretoken"' in dialog
    assert ">OUI<" in dialog
    assert ">NON<" in dialog
    assert ">ANNULER<" in dialog
    assert ">VALIDER<" in dialog


@pytest.mark.parametrize("motif", ["", "   \n  "])
def test_the_reason_is_required(gestionnaire_client, maryse, inactive_victor, on_commit, motif):
    with on_commit():
        response = gestionnaire_client.post(reactivate_url(inactive_victor), {"motif": motif})

    assert response.status_code == 200
    assert response.context["form"].errors["motif"] == [REASON_REQUIRED]
    assert REASON_REQUIRED in response.text
    inactive_victor.refresh_from_db()
    assert not inactive_victor.is_active
    assert inactive_victor.reactivation_reason == ""
    assert events(inactive_victor, AccountEvent.Kind.REACTIVATED) == []
    assert mail.outbox == []


def test_a_reason_of_5001_characters_is_refused_and_kept(
    gestionnaire_client, maryse, inactive_victor, on_commit
):
    motif = "R" * 5001

    with on_commit():
        response = gestionnaire_client.post(reactivate_url(inactive_victor), {"motif": motif})

    assert response.status_code == 200
    message = "Assurez-vous que cette valeur comporte au plus 5000 caractères (actuellement 5001)."
    assert response.context["form"].errors["motif"] == [message]
    assert message in response.text
    assert re.search(rf"<textarea [^>]*>\s*{motif}</textarea>", response.text)
    inactive_victor.refresh_from_db()
    assert not inactive_victor.is_active
    assert inactive_victor.reactivation_reason == ""
    assert mail.outbox == []


def test_a_reason_of_exactly_5000_characters_is_accepted(
    gestionnaire_client, maryse, inactive_victor, on_commit
):
    motif = "Retour d'absence de longue durée. ".ljust(5000, "x")
    assert len(motif) == 5000

    with on_commit():
        response = gestionnaire_client.post(reactivate_url(inactive_victor), {"motif": motif})

    assert response.status_code == 302
    inactive_victor.refresh_from_db()
    assert inactive_victor.is_active
    assert inactive_victor.reactivation_reason == motif
    [event] = events(inactive_victor, AccountEvent.Kind.REACTIVATED)
    assert event.reason == motif


def test_reactivation_over_the_quota_is_refused(
    gestionnaire_client, convention, structure, maryse, inactive_victor, on_commit
):
    for number in range(4):
        technicien(structure, nom_patronymique=f"ACTIF{'ABCD'[number]}", email=f"{number}@ex.org")
    assert structure.active_techniciens().count() == convention.max_techniciens == 5

    with on_commit():
        response = gestionnaire_client.post(
            reactivate_url(inactive_victor), {"motif": "Retour d'absence de longue durée"}
        )

    assert response.status_code == 200
    refusal = "Le nombre maximum de techniciens actifs prévu par la convention (5) est atteint."
    assert response.context["form"].non_field_errors() == [refusal]
    assert refusal in response.text
    assert "Retour d'absence de longue durée" in unescape(response.text)  # kept
    inactive_victor.refresh_from_db()
    assert not inactive_victor.is_active
    assert inactive_victor.inactivated_at is not None
    assert inactive_victor.reactivation_reason == ""
    assert events(inactive_victor, AccountEvent.Kind.REACTIVATED) == []
    assert not Invitation.objects.filter(account=inactive_victor).exists()
    assert mail.outbox == []
    assert structure.active_techniciens().count() == 5


def test_reactivation_within_the_quota_of_the_selected_convention(
    gestionnaire_client, convention, structure, maryse, inactive_victor, on_commit
):
    convention.max_techniciens = 2
    convention.save()

    with on_commit():
        gestionnaire_client.post(reactivate_url(inactive_victor), {"motif": "Retour"})

    inactive_victor.refresh_from_db()
    assert inactive_victor.is_active
    assert structure.active_techniciens().count() == 2


def test_reactivation_brings_the_account_back_among_the_active_ones(
    gestionnaire_client, gestionnaire, structure, maryse, inactive_victor, on_commit
):
    technicien(
        structure, active=False, nom_patronymique="ABADIE", prenom="Anne", email="a@example.org"
    )
    assert listed_accounts(gestionnaire_client) == [
        ("account-active", "Madame MARTIN Maryse"),
        ("account-inactive", "Madame ABADIE Anne"),
        ("account-inactive", "Monsieur CHAUSSON Victor"),
    ]

    with on_commit():
        response = gestionnaire_client.post(
            reactivate_url(inactive_victor), {"motif": "Retour d'absence de longue durée"}
        )

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    assert messages_of(response) == [
        "Le compte de Victor CHAUSSON est réactivé. Un e-mail l'invite à créer un nouveau mot de "
        "passe ; son identifiant v.chausson2 est inchangé."
    ]
    inactive_victor.refresh_from_db()
    assert inactive_victor.is_active
    assert inactive_victor.inactivated_at is None
    assert inactive_victor.identifiant == "v.chausson2"
    assert inactive_victor.reactivation_reason == "Retour d'absence de longue durée"
    [event] = events(inactive_victor, AccountEvent.Kind.REACTIVATED)
    assert event.reason == "Retour d'absence de longue durée"
    assert event.by == gestionnaire
    assert listed_accounts(gestionnaire_client) == [
        ("account-active", "Monsieur CHAUSSON Victor"),
        ("account-active", "Madame MARTIN Maryse"),
        ("account-inactive", "Madame ABADIE Anne"),
    ]


def test_the_history_shows_the_reactivation_with_its_reason(
    gestionnaire_client, maryse, inactive_victor, on_commit
):
    with on_commit():
        gestionnaire_client.post(reactivate_url(inactive_victor), {"motif": "Retour de congé"})

    response = gestionnaire_client.get(
        reverse("accounts:technicien_history", args=[inactive_victor.pk])
    )

    assert '<td data-label="Événement">Réactivation</td>' in response.text
    assert "Motif : Retour de congé" in response.text


def test_the_reactivated_technicien_receives_the_email_of_the_manual(
    gestionnaire_client, maryse, inactive_victor, on_commit
):
    with on_commit():
        gestionnaire_client.post(
            reactivate_url(inactive_victor), {"motif": "Retour d'absence de longue durée"}
        )

    [email] = mail.outbox
    assert email.to == ["victor.chausson@assurance-maladie.fr"]
    assert email.subject == "Bienvenue sur Espace Partenaires"
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    for body in (email.body, html):
        assert "Bonjour Victor CHAUSSON," in body
        assert "Votre compte en tant que technicien partenaire est réactivé" in body
        assert "Votre identifiant reste inchangé" in body
        assert "v.chausson2" in body
        assert "Créer mon mot de passe" in body
        assert "Votre conseiller Assurance Maladie." in body
        assert "Retour d'absence" not in body
    link = link_in(email)
    assert f'href="http://127.0.0.1:8000{link}"' in html


def test_the_old_password_stops_working_and_the_new_one_set_through_the_link_works(
    gestionnaire_client, maryse, inactive_victor, on_commit
):
    browser = Client()
    with on_commit():
        gestionnaire_client.post(reactivate_url(inactive_victor), {"motif": "Retour"})

    assert not log_in(browser, "v.chausson2", TEST_PASSWORD)
    set_password(browser, link_in(mail.outbox[0]))

    assert log_in(browser, "v.chausson2", NEW_PASSWORD)
    assert not log_in(browser, "v.chausson2", TEST_PASSWORD)
    inactive_victor.refresh_from_db()
    assert events(inactive_victor, AccountEvent.Kind.PASSWORD_SET)


def test_reactivating_an_active_account_does_nothing(
    gestionnaire_client, maryse, victor, on_commit
):
    with on_commit():
        response = gestionnaire_client.post(reactivate_url(victor), {"motif": "Par erreur"})

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    victor.refresh_from_db()
    assert victor.is_active
    assert victor.reactivation_reason == ""
    assert events(victor, AccountEvent.Kind.REACTIVATED) == []
    assert mail.outbox == []
    assert log_in(Client(), "v.chausson2", TEST_PASSWORD)


def test_a_get_request_never_reactivates(gestionnaire_client, maryse, inactive_victor):
    response = gestionnaire_client.get(reactivate_url(inactive_victor), {"motif": "Retour"})

    assert response.status_code == 200
    inactive_victor.refresh_from_db()
    assert not inactive_victor.is_active
    assert mail.outbox == []


# --- Another structure's accounts ------------------------------------------------------------


@pytest.mark.parametrize("url_of", [inactivate_url, reactivate_url, resend_url])
def test_another_structures_technicien_is_not_found(gestionnaire_client, maryse, url_of):
    elsewhere = ConventionFactory().structure
    others = [
        technicien(elsewhere, nom_patronymique="AILLEURS", email="a@ailleurs.org"),
        technicien(elsewhere, nom_patronymique="LOIN", email="l@ailleurs.org"),
        technicien(elsewhere, active=False, nom_patronymique="PARTI", email="p@ailleurs.org"),
    ]

    get_status = 405 if url_of is resend_url else 404  # resending is POST only
    for other in others:
        assert gestionnaire_client.get(url_of(other)).status_code == get_status
        response = gestionnaire_client.post(url_of(other), {"motif": "Retour"})
        assert response.status_code == 404

    assert [User.objects.get(pk=other.pk).is_active for other in others] == [True, True, False]
    assert not AccountEvent.objects.filter(account__in=others).exists()
    assert mail.outbox == []


# --- Resending the invitation ---------------------------------------------------------------


def test_the_resend_button_is_shown_only_for_active_accounts_without_a_password(
    gestionnaire_client, structure, maryse, on_commit
):
    pending = create_through_the_form(gestionnaire_client, on_commit)
    never_set_but_inactive = technicien(
        structure, active=False, nom_patronymique="DURAND", email="d@example.org"
    )
    never_set_but_inactive.set_unusable_password()
    never_set_but_inactive.save()

    html = gestionnaire_client.get(LIST_URL).text

    assert f'action="{resend_url(pending)}"' in html
    assert f'action="{resend_url(maryse)}"' not in html
    assert f'action="{resend_url(never_set_but_inactive)}"' not in html
    assert html.count("Renvoyer l'invitation") == 1


def test_resending_sends_a_new_link_and_kills_the_previous_one(
    gestionnaire_client, maryse, on_commit
):
    pending = create_through_the_form(gestionnaire_client, on_commit)
    old_link = link_in(mail.outbox[0])

    with on_commit():
        response = gestionnaire_client.post(resend_url(pending))

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    assert messages_of(response) == [
        "Une nouvelle invitation est envoyée à victor.chausson@assurance-maladie.fr ; le lien "
        "précédent ne marche plus."
    ]
    assert len(mail.outbox) == 2
    new_email = mail.outbox[1]
    assert new_email.to == ["victor.chausson@assurance-maladie.fr"]
    assert "Créer mon mot de passe" in new_email.body
    assert "v.chausson" in new_email.body
    new_link = link_in(new_email)
    assert new_link != old_link

    browser = Client()
    old = open_link(browser, old_link)
    assert INVALID_LINK in old.text
    assert 'name="new_password1"' not in old.text
    set_password(browser, new_link)
    assert log_in(browser, pending.identifiant, NEW_PASSWORD)


def test_resending_by_get_is_refused(gestionnaire_client, maryse, on_commit):
    pending = create_through_the_form(gestionnaire_client, on_commit)
    link = link_in(mail.outbox[0])

    with on_commit():
        response = gestionnaire_client.get(resend_url(pending))

    assert response.status_code == 405
    assert len(mail.outbox) == 1
    assert open_link(Client(), link).status_code == 200


def test_resending_is_refused_once_the_password_is_set(gestionnaire_client, maryse, on_commit):
    with on_commit():
        response = gestionnaire_client.post(resend_url(maryse))

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    assert messages_of(response) == [NOT_WAITING_REFUSAL]
    assert mail.outbox == []
    assert not Invitation.objects.filter(account=maryse).exists()
    assert log_in(Client(), "m.pichon", TEST_PASSWORD)


def test_resending_is_refused_for_an_inactive_account(
    gestionnaire_client, structure, maryse, on_commit
):
    pending = create_through_the_form(gestionnaire_client, on_commit)
    gestionnaire_client.post(inactivate_url(pending), follow=True)

    with on_commit():
        response = gestionnaire_client.post(resend_url(pending))

    assert messages_of(response) == [NOT_WAITING_REFUSAL]
    assert len(mail.outbox) == 1
    assert not Invitation.objects.filter(account=pending, revoked_at__isnull=True).exists()
