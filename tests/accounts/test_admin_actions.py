"""What an agent de caisse does in the admin (SPEC §1–3, §7), through the admin's own forms."""

import datetime

import pytest
from django.contrib.messages import constants as message_levels
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEvent, Role, User
from conventions.models import Convention, Offre
from notifications.models import SentEmail
from organismes.models import StructurePartenaire
from tests.factories import (
    TEST_PASSWORD,
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    SuperuserFactory,
    TechnicienFactory,
    valid_siret,
)
from tests.helpers import EMAIL_UNAVAILABLE, log_in, log_in_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return AgentFactory(organisme=OrganismeFactory(nom="CPAM DE L'OISE"))


@pytest.fixture
def convention(agent):
    """A convention en cours of the agent's organisme: 2 gestionnaires, 5 techniciens."""
    return ConventionFactory(
        organisme=agent.organisme, structure=StructureFactory(nom="CCAS DE CREIL")
    )


@pytest.fixture
def agent_client(client, agent):
    log_in_verified(client, agent)
    return client


def management_data(response) -> dict[str, int]:
    """The management form fields of every inline of a rendered admin form page."""
    data = {}
    for inline_admin_formset in response.context["inline_admin_formsets"]:
        management_form = inline_admin_formset.formset.management_form
        for name, value in management_form.initial.items():
            data[management_form.add_prefix(name)] = value
    return data


def messages_of(response) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in response.context["messages"]]


GESTIONNAIRE = {
    "civilite": "MME",
    "nom_patronymique": "pichon",
    "nom_usuel": "",
    "prenom": "maryse",
    "fonction": "Directrice",
    "telephone": "07 00 00 00 00",
    "email": "Maryse.Pichon@ccas-creil.example",
}


# --- Structures and conventions -------------------------------------------------------------


def structure_with_convention_data(**overrides) -> dict:
    data = {
        "nom": "ASSOCIATION L'ESCALE",
        "siret": valid_siret(77_001),
        "adresse": "3 rue de la République",
        "code_postal": "60000",
        "ville": "Beauvais",
        "telephone": "03 44 10 20 30",
        "nombre_membres": 18,
        "conventions-TOTAL_FORMS": 1,
        "conventions-INITIAL_FORMS": 0,
        "conventions-MIN_NUM_FORMS": 1,
        "conventions-MAX_NUM_FORMS": 1000,
        "conventions-0-reference": "CONV-2026-014",
        "conventions-0-date_debut": timezone.localdate().isoformat(),
        "conventions-0-date_fin": "",
        "conventions-0-max_gestionnaires": "",
        "conventions-0-max_techniciens": "",
        "_save": "Enregistrer",
    }
    data.update(overrides)
    return data


def test_the_structure_add_page_has_one_convention_form_for_an_agent(agent_client):
    response = agent_client.get(reverse("admin:organismes_structurepartenaire_add"))

    assert response.status_code == 200
    assert management_data(response) == {
        "conventions-TOTAL_FORMS": 1,
        "conventions-INITIAL_FORMS": 0,
        "conventions-MIN_NUM_FORMS": 1,
        "conventions-MAX_NUM_FORMS": 1000,
    }


def test_an_agent_creates_a_structure_with_its_first_convention(agent_client, agent):
    other_organisme = OrganismeFactory()
    offre = Offre.objects.order_by("ordre").first()

    response = agent_client.post(
        reverse("admin:organismes_structurepartenaire_add"),
        structure_with_convention_data(
            **{
                # The organisme is locked to the agent's: a forged value is ignored.
                "conventions-0-organisme": other_organisme.pk,
                "conventions-0-offres": [offre.pk],
                "conventions-0-habilitee": "on",
            }
        ),
    )

    assert response.status_code == 302
    structure = StructurePartenaire.objects.get(nom="ASSOCIATION L'ESCALE")
    assert structure.telephone == "03.44.10.20.30"
    convention = structure.conventions.get()
    assert convention.organisme == agent.organisme
    assert convention.reference == "CONV-2026-014"
    assert convention.habilitee
    assert list(convention.offres.all()) == [offre]
    # The new structure is in the agent's scope at once.
    assert (
        agent_client.get(
            reverse("admin:organismes_structurepartenaire_change", args=[structure.pk])
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("nombre_membres", "quotas"),
    [(8, (2, 5)), (18, (3, 15)), (40, (5, 25))],
)
def test_the_first_conventions_quotas_left_empty_come_from_the_members(
    agent_client, nombre_membres, quotas
):
    agent_client.post(
        reverse("admin:organismes_structurepartenaire_add"),
        structure_with_convention_data(nombre_membres=nombre_membres),
    )

    convention = Convention.objects.get(reference="CONV-2026-014")
    assert (convention.max_gestionnaires, convention.max_techniciens) == quotas


def test_quotas_given_by_the_agent_are_kept(agent_client):
    agent_client.post(
        reverse("admin:organismes_structurepartenaire_add"),
        structure_with_convention_data(
            **{"conventions-0-max_gestionnaires": 1, "conventions-0-max_techniciens": 4}
        ),
    )

    convention = Convention.objects.get(reference="CONV-2026-014")
    assert (convention.max_gestionnaires, convention.max_techniciens) == (1, 4)


# Issue 19, item 10: the agent's structure exists through its convention with their organisme
# (without one it would have no access and would vanish from the agent's list): the page says so
# before the first try, and a refusal says what to fill, in French, not Django's generic sentence.
CONVENTION_NEEDED = (
    "Une structure se crée avec sa convention avec votre organisme : renseignez ci-dessous au "
    "moins la référence de la convention et sa date de début. Sans convention, la structure "
    "n'aurait aucun accès au portail et n'apparaîtrait pas dans votre liste."
)


def test_the_structure_add_page_says_that_the_structure_comes_with_its_convention(agent_client):
    response = agent_client.get(reverse("admin:organismes_structurepartenaire_add"))

    assert CONVENTION_NEEDED in response.text


@pytest.mark.parametrize(
    "convention_forms",
    [
        # The convention form shown but left empty.
        {"conventions-0-reference": "", "conventions-0-date_debut": ""},
        # No convention form sent at all.
        {
            "conventions-TOTAL_FORMS": 0,
            "conventions-0-reference": "",
            "conventions-0-date_debut": "",
        },
    ],
)
def test_an_agent_cannot_create_a_structure_without_a_convention(agent_client, convention_forms):
    response = agent_client.post(
        reverse("admin:organismes_structurepartenaire_add"),
        structure_with_convention_data(**convention_forms),
    )

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert errors == [CONVENTION_NEEDED]
    assert "Veuillez soumettre au moins 1 formulaire." not in response.text
    assert not StructurePartenaire.objects.filter(nom="ASSOCIATION L'ESCALE").exists()
    # The structure's fields are kept.
    assert (
        response.context["adminform"].form["siret"].value()
        == (structure_with_convention_data()["siret"])
    )


def test_a_superuser_may_create_a_structure_before_its_convention(client):
    log_in_verified(client, SuperuserFactory())

    page = client.get(reverse("admin:organismes_structurepartenaire_add"))
    response = client.post(
        reverse("admin:organismes_structurepartenaire_add"),
        structure_with_convention_data(
            **{"conventions-TOTAL_FORMS": 0, "conventions-MIN_NUM_FORMS": 0}
        ),
    )

    assert CONVENTION_NEEDED not in page.text
    assert response.status_code == 302
    structure = StructurePartenaire.objects.get(nom="ASSOCIATION L'ESCALE")
    assert not structure.conventions.exists()


def test_the_convention_form_proposes_quotas_from_the_structures_members(agent_client, agent):
    structure = StructureFactory(nombre_membres=30)
    ConventionFactory(
        organisme=agent.organisme,
        structure=structure,
        date_debut=datetime.date(2020, 1, 1),
        date_fin=datetime.date(2021, 12, 31),
    )

    response = agent_client.get(
        reverse("admin:conventions_convention_add"), {"structure": structure.pk}
    )

    form = response.context["adminform"].form
    assert form.initial["max_gestionnaires"] == 5
    assert form.initial["max_techniciens"] == 25
    assert 'name="max_gestionnaires" value="5"' in response.text
    assert 'name="max_techniciens" value="25"' in response.text


def test_the_convention_form_proposes_no_quota_for_another_organismes_structure(
    agent_client,
):
    theirs = ConventionFactory(structure=StructureFactory(nombre_membres=30)).structure

    response = agent_client.get(
        reverse("admin:conventions_convention_add"), {"structure": theirs.pk}
    )

    assert "max_gestionnaires" not in response.context["adminform"].form.initial


def test_a_new_convention_with_empty_quotas_gets_them_from_the_members(agent_client, agent):
    structure = StructureFactory(nombre_membres=5)
    ConventionFactory(
        organisme=agent.organisme,
        structure=structure,
        date_debut=datetime.date(2020, 1, 1),
        date_fin=datetime.date(2021, 12, 31),
    )

    response = agent_client.post(
        reverse("admin:conventions_convention_add"),
        {
            "structure": structure.pk,
            "reference": "CONV-RENOUVELLEMENT",
            "date_debut": "2022-01-01",
            "max_gestionnaires": "",
            "max_techniciens": "",
        },
    )

    assert response.status_code == 302
    convention = Convention.objects.get(reference="CONV-RENOUVELLEMENT")
    assert (convention.max_gestionnaires, convention.max_techniciens) == (2, 5)
    assert convention.organisme == agent.organisme


# --- Gestionnaire accounts ------------------------------------------------------------------


def test_an_agent_creates_a_gestionnaire_who_receives_the_invitation(
    agent_client, agent, convention, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            reverse("admin:accounts_partneraccount_add"),
            {"structure": convention.structure.pk, **GESTIONNAIRE, "_save": "Enregistrer"},
        )

    assert response.status_code == 302
    account = User.objects.get(email="maryse.pichon@ccas-creil.example")
    assert account.identifiant == "m.pichon"
    assert account.role == Role.GESTIONNAIRE
    assert account.structure == convention.structure
    assert account.created_by == agent
    assert (account.nom_patronymique, account.prenom) == ("PICHON", "Maryse")
    assert account.telephone == "07.00.00.00.00"
    assert not account.has_usable_password()
    created = AccountEvent.objects.get(account=account, kind=AccountEvent.Kind.CREATED)
    assert created.by == agent
    sent = SentEmail.objects.get(account=account)
    assert (sent.template, sent.recipient, sent.status) == (
        "accounts/invitation",
        "maryse.pichon@ccas-creil.example",
        SentEmail.Status.SENT,
    )
    [email] = mail.outbox
    assert email.to == ["maryse.pichon@ccas-creil.example"]
    assert email.subject == "Bienvenue sur Espace Partenaires"
    assert "m.pichon" in email.body
    assert "/invitation/" in email.body


def test_a_gestionnaire_gets_the_next_free_identifiant(agent_client, convention):
    GestionnaireFactory(identifiant="m.pichon", structure=StructureFactory())

    agent_client.post(
        reverse("admin:accounts_partneraccount_add"),
        {"structure": convention.structure.pk, **GESTIONNAIRE},
    )

    assert convention.structure.comptes.get().identifiant == "m.pichon2"


def test_a_gestionnaire_over_the_conventions_maximum_is_refused(
    agent_client, convention, django_capture_on_commit_callbacks
):
    GestionnaireFactory.create_batch(2, structure=convention.structure)
    accounts_before = User.objects.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = agent_client.post(
            reverse("admin:accounts_partneraccount_add"),
            {"structure": convention.structure.pk, **GESTIONNAIRE},
        )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["structure"] == [
        "Le nombre maximum de gestionnaires actifs prévu par la convention (2) est atteint."
    ]
    assert User.objects.count() == accounts_before
    assert not SentEmail.objects.exists()
    assert callbacks == []
    assert mail.outbox == []


def test_inactive_gestionnaires_do_not_count_in_the_maximum(agent_client, convention):
    GestionnaireFactory(structure=convention.structure)
    GestionnaireFactory(
        structure=convention.structure, is_active=False, inactivated_at=timezone.now()
    )

    response = agent_client.post(
        reverse("admin:accounts_partneraccount_add"),
        {"structure": convention.structure.pk, **GESTIONNAIRE},
    )

    assert response.status_code == 302
    assert convention.structure.active_gestionnaires().count() == 2


def test_the_maximum_is_the_one_of_the_agents_organismes_convention(agent_client, convention):
    # The structure's convention with another organisme allows 5: it does not count here.
    ConventionFactory(structure=convention.structure, max_gestionnaires=5)
    GestionnaireFactory.create_batch(2, structure=convention.structure)

    response = agent_client.post(
        reverse("admin:accounts_partneraccount_add"),
        {"structure": convention.structure.pk, **GESTIONNAIRE},
    )

    assert response.status_code == 200
    assert "structure" in response.context["adminform"].form.errors
    assert convention.structure.active_gestionnaires().count() == 2


def test_invalid_gestionnaire_fields_show_french_errors_and_create_nothing(
    agent_client, convention, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            reverse("admin:accounts_partneraccount_add"),
            {
                "structure": convention.structure.pk,
                **GESTIONNAIRE,
                "nom_patronymique": "",
                "nom_usuel": "",
                "telephone": "07 00 00",
                "prenom": "Maryse2",
            },
        )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["telephone"] == [
        "Saisissez un numéro de téléphone à 10 chiffres commençant par 0, "
        "par exemple 07.00.00.00.00."
    ]
    assert errors["nom_patronymique"] == [
        "Renseignez au moins un des deux noms (patronymique ou usuel)."
    ]
    assert errors["prenom"] == [
        "Caractères acceptés : lettres (accentuées ou non), espace, tiret et apostrophe."
    ]
    assert "Renseignez au moins un des deux noms" in response.text
    # The input is kept.
    assert 'value="07 00 00"' in response.text
    assert 'value="Maryse.Pichon@ccas-creil.example"' in response.text
    assert not convention.structure.comptes.exists()
    assert not SentEmail.objects.exists()
    assert mail.outbox == []


def test_a_gestionnaire_email_already_used_by_an_active_gestionnaire_is_refused(
    agent_client, convention
):
    GestionnaireFactory(email="maryse.pichon@ccas-creil.example")

    response = agent_client.post(
        reverse("admin:accounts_partneraccount_add"),
        {"structure": convention.structure.pk, **GESTIONNAIRE},
    )

    assert response.context["adminform"].form.errors["email"] == [EMAIL_UNAVAILABLE]
    assert not convention.structure.comptes.exists()


def change_gestionnaire_data(agent_client, gestionnaire, **changes) -> dict:
    page = agent_client.get(reverse("admin:accounts_partneraccount_change", args=[gestionnaire.pk]))
    assert page.status_code == 200
    data = {
        **management_data(page),
        "civilite": gestionnaire.civilite,
        "nom_patronymique": gestionnaire.nom_patronymique,
        "nom_usuel": gestionnaire.nom_usuel,
        "prenom": gestionnaire.prenom,
        "fonction": gestionnaire.fonction,
        "telephone": gestionnaire.telephone,
        "email": gestionnaire.email,
        "_save": "Enregistrer",
    }
    data.update(changes)
    return data


def test_an_agent_modifies_a_gestionnaire_and_the_history_keeps_before_and_after(
    agent_client, agent, convention
):
    gestionnaire = GestionnaireFactory(
        identifiant="m.pichon",
        structure=convention.structure,
        telephone="07.00.00.00.00",
        email="maryse.pichon@ccas-creil.example",
    )
    data = change_gestionnaire_data(
        agent_client,
        gestionnaire,
        nom_usuel="martin",
        telephone="0344556677",
        email="maryse.martin@ccas-creil.example",
    )

    response = agent_client.post(
        reverse("admin:accounts_partneraccount_change", args=[gestionnaire.pk]), data
    )

    assert response.status_code == 302
    gestionnaire.refresh_from_db()
    assert gestionnaire.identifiant == "m.pichon"
    assert gestionnaire.nom_usuel == "MARTIN"
    assert gestionnaire.telephone == "03.44.55.66.77"
    assert gestionnaire.email == "maryse.martin@ccas-creil.example"
    event = AccountEvent.objects.get(account=gestionnaire, kind=AccountEvent.Kind.MODIFIED)
    assert event.by == agent
    assert event.changes == {
        "nom_usuel": ["", "MARTIN"],
        "telephone": ["07.00.00.00.00", "03.44.55.66.77"],
        "email": ["maryse.pichon@ccas-creil.example", "maryse.martin@ccas-creil.example"],
    }


def test_the_identifiant_cannot_be_changed_through_the_admin(agent_client, convention):
    gestionnaire = GestionnaireFactory(identifiant="m.pichon", structure=convention.structure)
    data = change_gestionnaire_data(agent_client, gestionnaire, identifiant="pirate")

    agent_client.post(reverse("admin:accounts_partneraccount_change", args=[gestionnaire.pk]), data)

    gestionnaire.refresh_from_db()
    assert gestionnaire.identifiant == "m.pichon"


def test_saving_a_gestionnaire_unchanged_records_no_modification(agent_client, convention):
    gestionnaire = GestionnaireFactory(structure=convention.structure)

    agent_client.post(
        reverse("admin:accounts_partneraccount_change", args=[gestionnaire.pk]),
        change_gestionnaire_data(agent_client, gestionnaire),
    )

    assert not AccountEvent.objects.filter(kind=AccountEvent.Kind.MODIFIED).exists()


def test_an_invalid_modification_shows_the_error_and_changes_nothing(agent_client, convention):
    gestionnaire = GestionnaireFactory(structure=convention.structure, telephone="07.00.00.00.00")
    data = change_gestionnaire_data(agent_client, gestionnaire, telephone="12345")

    response = agent_client.post(
        reverse("admin:accounts_partneraccount_change", args=[gestionnaire.pk]), data
    )

    assert response.status_code == 200
    assert "telephone" in response.context["adminform"].form.errors
    gestionnaire.refresh_from_db()
    assert gestionnaire.telephone == "07.00.00.00.00"
    assert not AccountEvent.objects.filter(kind=AccountEvent.Kind.MODIFIED).exists()


# --- Actions --------------------------------------------------------------------------------


def run_action(client, url_name: str, action: str, objects, **extra):
    return client.post(
        reverse(url_name),
        {"action": action, "_selected_action": [obj.pk for obj in objects], "index": 0, **extra},
        follow=True,
    )


def test_the_inactivate_action_inactivates_a_technicien(agent_client, agent, convention):
    technicien = TechnicienFactory(structure=convention.structure)

    response = run_action(
        agent_client, "admin:accounts_partneraccount_changelist", "inactiver", [technicien]
    )

    technicien.refresh_from_db()
    assert not technicien.is_active
    assert technicien.inactivated_at is not None
    assert AccountEvent.objects.get(account=technicien).kind == AccountEvent.Kind.INACTIVATED
    assert AccountEvent.objects.get(account=technicien).by == agent
    assert (
        message_levels.SUCCESS,
        f"Compte {technicien.identifiant} inactivé.",
    ) in messages_of(response)


def test_the_inactivate_action_inactivates_a_gestionnaire_who_is_not_the_last(
    agent_client, convention
):
    gestionnaire, other = GestionnaireFactory.create_batch(2, structure=convention.structure)
    technicien = TechnicienFactory(structure=convention.structure, created_by=gestionnaire)

    run_action(
        agent_client, "admin:accounts_partneraccount_changelist", "inactiver", [gestionnaire]
    )

    gestionnaire.refresh_from_db()
    other.refresh_from_db()
    technicien.refresh_from_db()
    assert not gestionnaire.is_active
    assert other.is_active
    # Techniciens created by an inactivated gestionnaire stay active (SPEC §7).
    assert technicien.is_active


def test_the_inactivate_action_refuses_the_last_active_gestionnaire(agent_client, convention):
    gestionnaire = GestionnaireFactory(structure=convention.structure)

    response = run_action(
        agent_client, "admin:accounts_partneraccount_changelist", "inactiver", [gestionnaire]
    )

    gestionnaire.refresh_from_db()
    assert gestionnaire.is_active
    assert not AccountEvent.objects.filter(account=gestionnaire).exists()
    [(level, text)] = messages_of(response)
    assert level == message_levels.ERROR
    assert text.startswith(gestionnaire.identifiant)
    assert "dernier gestionnaire actif de la structure" in text


def test_the_suspend_action_asks_for_a_motif_then_suspends(agent_client, convention):
    structure = convention.structure
    url = reverse("admin:organismes_structurepartenaire_changelist")
    action = {"action": "suspendre", "_selected_action": [structure.pk], "index": 0}

    intermediate = agent_client.post(url, action)

    assert intermediate.status_code == 200
    assert "Plus aucun compte de ces structures ne pourra se connecter" in intermediate.text
    assert 'name="motif"' in intermediate.text
    assert "CCAS DE CREIL" in intermediate.text
    structure.refresh_from_db()
    assert structure.suspended_at is None

    without_motif = agent_client.post(url, {**action, "apply": "Suspendre", "motif": ""})

    assert without_motif.status_code == 200
    assert without_motif.context["form"].errors["motif"] == ["Ce champ est obligatoire."]
    structure.refresh_from_db()
    assert structure.suspended_at is None

    done = agent_client.post(
        url, {**action, "apply": "Suspendre", "motif": "Suspicion de fraude"}, follow=True
    )

    structure.refresh_from_db()
    assert structure.suspended_at is not None
    assert structure.motif_suspension == "Suspicion de fraude"
    assert (message_levels.SUCCESS, "L'accès de 1 structure est suspendu.") in messages_of(done)


def test_lifting_the_suspension_lets_the_partners_log_in_again(client, agent, convention):
    gestionnaire = GestionnaireFactory(structure=convention.structure)
    structure = convention.structure
    structure.suspended_at = timezone.now()
    structure.motif_suspension = "Perte d'identifiants"
    structure.save()
    log_in_verified(client, agent)

    run_action(
        client, "admin:organismes_structurepartenaire_changelist", "lever_suspension", [structure]
    )

    structure.refresh_from_db()
    assert structure.suspended_at is None
    assert log_in(client, gestionnaire.identifiant, TEST_PASSWORD)


def suspend(client, structure) -> None:
    client.post(
        reverse("admin:organismes_structurepartenaire_changelist"),
        {
            "action": "suspendre",
            "_selected_action": [structure.pk],
            "index": 0,
            "apply": "Suspendre",
            "motif": "Suspicion de fraude",
        },
    )


def test_a_partner_of_a_suspended_structure_cannot_log_in(client, agent, convention):
    gestionnaire = GestionnaireFactory(structure=convention.structure)
    technicien = TechnicienFactory(structure=convention.structure)
    assert log_in(client, technicien.identifiant, TEST_PASSWORD)
    client.logout()
    log_in_verified(client, agent)

    suspend(client, convention.structure)
    client.logout()

    assert not log_in(client, gestionnaire.identifiant, TEST_PASSWORD)
    assert not log_in(client, technicien.identifiant, TEST_PASSWORD)


def test_a_logged_in_partner_is_logged_out_when_the_structure_is_suspended(
    agent_client, convention
):
    # Two browsers: the agent's and the partner's.
    partner_client = Client()
    technicien = TechnicienFactory(structure=convention.structure)
    assert log_in(partner_client, technicien.identifiant, TEST_PASSWORD)
    before = partner_client.get(reverse("home"), follow=True)  # via the organisme selection
    assert before.status_code == 200
    assert before.wsgi_request.user == technicien

    suspend(agent_client, convention.structure)
    after = partner_client.get(reverse("home"))

    assert not after.wsgi_request.user.is_authenticated
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("accounts:login"))


def test_an_agent_reactivates_a_gestionnaire_with_a_motif_and_a_new_link(
    agent, agent_client, convention, django_capture_on_commit_callbacks
):
    GestionnaireFactory(structure=convention.structure)
    gestionnaire = GestionnaireFactory(
        structure=convention.structure, is_active=False, inactivated_at=timezone.now()
    )
    url = reverse("admin:accounts_partneraccount_changelist")
    action = {"action": "reactiver", "_selected_action": [gestionnaire.pk], "index": 0}

    intermediate = agent_client.post(url, action)
    assert intermediate.status_code == 200
    assert 'name="motif"' in intermediate.text
    gestionnaire.refresh_from_db()
    assert not gestionnaire.is_active

    with django_capture_on_commit_callbacks(execute=True):
        done = agent_client.post(
            url, {**action, "apply": "Réactiver", "motif": "Retour de congé"}, follow=True
        )

    gestionnaire.refresh_from_db()
    assert gestionnaire.is_active
    assert gestionnaire.reactivation_reason == "Retour de congé"
    assert not gestionnaire.has_usable_password()
    assert (
        message_levels.SUCCESS,
        f"Compte {gestionnaire.identifiant} réactivé.",
    ) in messages_of(done)
    [email] = mail.outbox
    assert email.to == [gestionnaire.email]
    assert "Votre identifiant reste inchangé" in email.body
    assert gestionnaire.identifiant in email.body


def test_an_agent_cannot_reactivate_a_gestionnaire_over_the_quota(agent, agent_client, convention):
    # The convention allows 2 active gestionnaires; 2 are active already.
    GestionnaireFactory.create_batch(2, structure=convention.structure)
    gestionnaire = GestionnaireFactory(
        structure=convention.structure, is_active=False, inactivated_at=timezone.now()
    )
    url = reverse("admin:accounts_partneraccount_changelist")

    done = agent_client.post(
        url,
        {
            "action": "reactiver",
            "_selected_action": [gestionnaire.pk],
            "index": 0,
            "apply": "Réactiver",
            "motif": "Retour",
        },
        follow=True,
    )

    gestionnaire.refresh_from_db()
    assert not gestionnaire.is_active
    assert any(
        level == message_levels.ERROR and "maximum de gestionnaires actifs" in text
        for level, text in messages_of(done)
    )
    assert mail.outbox == []
