"""An agent de caisse sees and changes only their own organisme's partners (SPEC §1, §7).

Another organisme's object must look exactly like one that does not exist: absent from lists,
choices, searches and autocompletes, and a 404 on its URL.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AccountEvent, Role
from conventions.models import Convention
from notifications.models import SentEmail
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import log_in_verified

pytestmark = pytest.mark.django_db


def changelist_pks(response) -> set[int]:
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def person(prenom: str, nom: str, email: str) -> dict:
    return {
        "civilite": "MME",
        "nom_patronymique": nom,
        "nom_usuel": "",
        "prenom": prenom,
        "fonction": "Référente",
        "telephone": "07.00.00.00.00",
        "email": email,
    }


@pytest.fixture
def agent():
    return AgentFactory(organisme=OrganismeFactory(nom="CPAM DE L'OISE"))


@pytest.fixture
def world(agent, django_capture_on_commit_callbacks):
    """Organisme A (the agent's) and organisme B, each with its partners, accounts and e-mails.

    `shared` has a convention with both: it is in A's scope, but its convention with B is not.
    """
    other_organisme = OrganismeFactory(nom="CPAM GIRONDE")
    ours = StructureFactory(nom="CCAS DE CREIL", ville="Creil")
    theirs = StructureFactory(nom="ASSOCIATION BORDELAISE", ville="Bordeaux")
    shared = StructureFactory(nom="UDAF DEPARTEMENTALE", ville="Beauvais")
    our_convention = ConventionFactory(organisme=agent.organisme, structure=ours)
    their_convention = ConventionFactory(organisme=other_organisme, structure=theirs)
    shared_with_us = ConventionFactory(organisme=agent.organisme, structure=shared)
    shared_with_them = ConventionFactory(organisme=other_organisme, structure=shared)
    superuser = SuperuserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        our_gestionnaire = services.create_partner_account(
            by=agent,
            role=Role.GESTIONNAIRE,
            structure=ours,
            organisme=agent.organisme,
            data=person("Maryse", "PICHON", "maryse.pichon@ccas-creil.example"),
        )
        their_gestionnaire = services.create_partner_account(
            by=superuser,
            role=Role.GESTIONNAIRE,
            structure=theirs,
            organisme=other_organisme,
            data=person("Victor", "CHAUSSON", "victor.chausson@bordeaux.example"),
        )
    return {
        "other_organisme": other_organisme,
        "ours": ours,
        "theirs": theirs,
        "shared": shared,
        "our_convention": our_convention,
        "their_convention": their_convention,
        "shared_with_us": shared_with_us,
        "shared_with_them": shared_with_them,
        "our_gestionnaire": our_gestionnaire,
        "our_technicien": TechnicienFactory(structure=ours),
        "shared_technicien": TechnicienFactory(structure=shared),
        "their_gestionnaire": their_gestionnaire,
        "their_technicien": TechnicienFactory(structure=theirs),
        "superuser": superuser,
    }


# --- Lists ----------------------------------------------------------------------------------


def test_an_agent_sees_only_the_structures_having_a_convention_with_their_organisme(
    client, agent, world
):
    log_in_verified(client, agent)

    response = client.get(reverse("admin:organismes_structurepartenaire_changelist"))

    assert changelist_pks(response) == {world["ours"].pk, world["shared"].pk}
    assert "CCAS DE CREIL" in response.text
    assert "ASSOCIATION BORDELAISE" not in response.text


def test_an_agent_sees_only_their_organismes_conventions(client, agent, world):
    log_in_verified(client, agent)

    response = client.get(reverse("admin:conventions_convention_changelist"))

    assert changelist_pks(response) == {
        world["our_convention"].pk,
        world["shared_with_us"].pk,
    }


def test_an_agent_sees_only_the_accounts_of_their_structures(client, agent, world):
    log_in_verified(client, agent)

    response = client.get(reverse("admin:accounts_partneraccount_changelist"))

    assert changelist_pks(response) == {
        world["our_gestionnaire"].pk,
        world["our_technicien"].pk,
        world["shared_technicien"].pk,
    }
    assert "m.pichon" in response.text
    assert "v.chausson" not in response.text


def test_the_partner_accounts_list_never_shows_staff(client, agent, world):
    log_in_verified(client, world["superuser"])

    response = client.get(reverse("admin:accounts_partneraccount_changelist"))

    accounts = response.context["cl"].result_list
    assert {account.role for account in accounts} == {Role.GESTIONNAIRE, Role.TECHNICIEN}
    assert agent.pk not in changelist_pks(response)


def test_an_agent_sees_only_the_history_of_their_structures_accounts(client, agent, world):
    log_in_verified(client, agent)

    response = client.get(reverse("admin:accounts_accountevent_changelist"))

    ours = set(
        AccountEvent.objects.filter(account=world["our_gestionnaire"]).values_list("pk", flat=True)
    )
    assert ours  # created, invitation sent
    assert changelist_pks(response) == ours


def test_an_agent_sees_only_the_emails_sent_to_their_structures_accounts(client, agent, world):
    log_in_verified(client, agent)

    response = client.get(reverse("admin:notifications_sentemail_changelist"))

    ours = SentEmail.objects.get(account=world["our_gestionnaire"])
    assert changelist_pks(response) == {ours.pk}
    assert "maryse.pichon@ccas-creil.example" in response.text
    assert "victor.chausson@bordeaux.example" not in response.text


def test_a_superuser_sees_every_organismes_partners(client, world):
    log_in_verified(client, world["superuser"])

    structures = client.get(reverse("admin:organismes_structurepartenaire_changelist"))
    conventions = client.get(reverse("admin:conventions_convention_changelist"))
    accounts = client.get(reverse("admin:accounts_partneraccount_changelist"))
    events = client.get(reverse("admin:accounts_accountevent_changelist"))
    emails = client.get(reverse("admin:notifications_sentemail_changelist"))

    assert changelist_pks(structures) == {
        world["ours"].pk,
        world["theirs"].pk,
        world["shared"].pk,
    }
    assert changelist_pks(conventions) == set(Convention.objects.values_list("pk", flat=True))
    assert changelist_pks(accounts) == {
        world[name].pk
        for name in (
            "our_gestionnaire",
            "our_technicien",
            "shared_technicien",
            "their_gestionnaire",
            "their_technicien",
        )
    }
    assert changelist_pks(events) == set(AccountEvent.objects.values_list("pk", flat=True))
    assert changelist_pks(emails) == set(SentEmail.objects.values_list("pk", flat=True))
    assert len(changelist_pks(emails)) == 2


# --- Object URLs ----------------------------------------------------------------------------


def test_an_agent_opens_their_own_structure_convention_and_account(client, agent, world):
    log_in_verified(client, agent)

    urls = [
        reverse("admin:organismes_structurepartenaire_change", args=[world["ours"].pk]),
        reverse("admin:conventions_convention_change", args=[world["our_convention"].pk]),
        reverse("admin:accounts_partneraccount_change", args=[world["our_gestionnaire"].pk]),
    ]

    assert [client.get(url).status_code for url in urls] == [200, 200, 200]


def test_an_agent_gets_404_for_another_organismes_structure(client, agent, world):
    log_in_verified(client, agent)

    response = client.get(
        reverse("admin:organismes_structurepartenaire_change", args=[world["theirs"].pk])
    )

    assert response.status_code == 404


def test_an_agent_gets_404_for_another_organismes_convention(client, agent, world):
    log_in_verified(client, agent)

    their_own = client.get(
        reverse("admin:conventions_convention_change", args=[world["their_convention"].pk])
    )
    # The structure is shared, but its convention with the other organisme is not.
    shared_structures = client.get(
        reverse("admin:conventions_convention_change", args=[world["shared_with_them"].pk])
    )

    assert their_own.status_code == 404
    assert shared_structures.status_code == 404


def test_an_agent_gets_404_for_another_organismes_partner_account(client, agent, world):
    log_in_verified(client, agent)

    gestionnaire = client.get(
        reverse("admin:accounts_partneraccount_change", args=[world["their_gestionnaire"].pk])
    )
    technicien = client.get(
        reverse("admin:accounts_partneraccount_change", args=[world["their_technicien"].pk])
    )
    history = client.get(
        reverse("admin:accounts_partneraccount_history", args=[world["their_gestionnaire"].pk])
    )

    assert gestionnaire.status_code == 404
    assert technicien.status_code == 404
    assert history.status_code == 404


def test_an_agent_cannot_change_another_organismes_structure_by_posting(client, agent, world):
    log_in_verified(client, agent)

    response = client.post(
        reverse("admin:organismes_structurepartenaire_change", args=[world["theirs"].pk]),
        {"nom": "PIRATEE", "siret": world["theirs"].siret, "nombre_membres": 3},
    )

    assert response.status_code == 404
    world["theirs"].refresh_from_db()
    assert world["theirs"].nom == "ASSOCIATION BORDELAISE"


def test_an_agent_cannot_inactivate_another_organismes_account_with_an_action(client, agent, world):
    log_in_verified(client, agent)

    client.post(
        reverse("admin:accounts_partneraccount_changelist"),
        {
            "action": "inactiver",
            "_selected_action": [world["their_technicien"].pk],
            "index": 0,
        },
    )

    world["their_technicien"].refresh_from_db()
    assert world["their_technicien"].is_active


# --- Choices --------------------------------------------------------------------------------


def test_the_convention_form_offers_only_the_agents_structures_and_organisme(client, agent, world):
    log_in_verified(client, agent)

    response = client.get(reverse("admin:conventions_convention_add"))

    fields = response.context["adminform"].form.fields
    assert set(fields["structure"].queryset) == {world["ours"], world["shared"]}
    assert list(fields["organisme"].queryset) == [agent.organisme]


def test_an_agent_cannot_post_a_convention_for_another_organismes_structure(client, agent, world):
    log_in_verified(client, agent)

    response = client.post(
        reverse("admin:conventions_convention_add"),
        {
            "organisme": world["other_organisme"].pk,
            "structure": world["theirs"].pk,
            "reference": "CONV-PIRATE",
            "date_debut": "2030-01-01",
            "max_gestionnaires": 2,
            "max_techniciens": 5,
        },
    )

    assert response.status_code == 200
    assert "structure" in response.context["adminform"].form.errors
    assert not Convention.objects.filter(reference="CONV-PIRATE").exists()


def test_a_convention_posted_by_an_agent_belongs_to_their_organisme(client, agent, world):
    # The first convention ended: a new one may start without overlapping it.
    world["our_convention"].date_fin = timezone.localdate() - datetime.timedelta(days=1)
    world["our_convention"].save()
    log_in_verified(client, agent)

    client.post(
        reverse("admin:conventions_convention_add"),
        {
            "organisme": world["other_organisme"].pk,  # ignored: the field is locked
            "structure": world["ours"].pk,
            "reference": "CONV-AVENANT",
            "date_debut": timezone.localdate().isoformat(),
            "max_gestionnaires": 2,
            "max_techniciens": 5,
        },
    )

    convention = Convention.objects.get(reference="CONV-AVENANT")
    assert convention.organisme == agent.organisme


def test_the_gestionnaire_form_offers_only_the_agents_structures(client, agent, world):
    log_in_verified(client, agent)

    response = client.get(reverse("admin:accounts_partneraccount_add"))

    structure_field = response.context["adminform"].form.fields["structure"]
    assert set(structure_field.queryset) == {world["ours"], world["shared"]}


def test_an_agent_cannot_post_a_gestionnaire_for_another_organismes_structure(client, agent, world):
    log_in_verified(client, agent)

    response = client.post(
        reverse("admin:accounts_partneraccount_add"),
        {"structure": world["theirs"].pk, **person("Jean", "INTRUS", "jean.intrus@example.org")},
    )

    assert response.status_code == 200
    assert "structure" in response.context["adminform"].form.errors
    assert not world["theirs"].comptes.filter(nom_patronymique="INTRUS").exists()


# --- Search and autocomplete ----------------------------------------------------------------


def test_searching_another_organismes_structure_by_name_finds_nothing(client, agent, world):
    log_in_verified(client, agent)

    theirs = client.get(
        reverse("admin:organismes_structurepartenaire_changelist"), {"q": "BORDELAISE"}
    )
    ours = client.get(reverse("admin:organismes_structurepartenaire_changelist"), {"q": "CREIL"})
    conventions = client.get(
        reverse("admin:conventions_convention_changelist"), {"q": "BORDELAISE"}
    )
    accounts = client.get(reverse("admin:accounts_partneraccount_changelist"), {"q": "BORDELAISE"})

    assert changelist_pks(theirs) == set()
    assert changelist_pks(ours) == {world["ours"].pk}
    assert changelist_pks(conventions) == set()
    assert changelist_pks(accounts) == set()


def autocomplete(client, model_name: str, term: str) -> list[str]:
    app_label = "accounts" if model_name == "partneraccount" else "conventions"
    response = client.get(
        "/admin/autocomplete/",
        {
            "app_label": app_label,
            "model_name": model_name,
            "field_name": "structure",
            "term": term,
        },
    )
    assert response.status_code == 200
    return [result["text"] for result in response.json()["results"]]


def test_the_structure_autocomplete_does_not_offer_another_organismes_structure(
    client, agent, world
):
    log_in_verified(client, agent)

    assert autocomplete(client, "convention", "BORDELAISE") == []
    assert autocomplete(client, "partneraccount", "BORDELAISE") == []
    assert autocomplete(client, "convention", "CREIL") == ["CCAS DE CREIL"]
    assert sorted(autocomplete(client, "partneraccount", "")) == [
        "CCAS DE CREIL",
        "UDAF DEPARTEMENTALE",
    ]


def test_the_structure_autocomplete_offers_everything_to_a_superuser(client, world):
    log_in_verified(client, world["superuser"])

    assert autocomplete(client, "convention", "BORDELAISE") == ["ASSOCIATION BORDELAISE"]


# --- What an agent cannot open at all -------------------------------------------------------


def test_an_agent_cannot_open_the_staff_accounts_admin(client, agent, world):
    log_in_verified(client, agent)

    changelist = client.get(reverse("admin:accounts_staffaccount_changelist"))
    add = client.get(reverse("admin:accounts_staffaccount_add"))
    own_account = client.get(reverse("admin:accounts_staffaccount_change", args=[agent.pk]))

    assert changelist.status_code == 403
    assert add.status_code == 403
    assert own_account.status_code in (403, 404)


def test_an_agent_cannot_open_the_organismes_admin(client, agent, world):
    log_in_verified(client, agent)

    changelist = client.get(reverse("admin:organismes_organisme_changelist"))
    own_organisme = client.get(
        reverse("admin:organismes_organisme_change", args=[agent.organisme.pk])
    )

    assert changelist.status_code == 403
    assert own_organisme.status_code == 403


def test_the_admin_index_shows_an_agent_only_their_models(client, agent, world):
    log_in_verified(client, agent)

    response = client.get(reverse("admin:index"))

    models = {
        model["object_name"] for app in response.context["app_list"] for model in app["models"]
    }
    assert {"StructurePartenaire", "Convention", "PartnerAccount"} <= models
    assert "StaffAccount" not in models
    assert "Organisme" not in models


def test_a_superuser_opens_the_staff_accounts_and_organismes_admin(client, agent, world):
    log_in_verified(client, world["superuser"])

    staff = client.get(reverse("admin:accounts_staffaccount_changelist"))
    organismes = client.get(reverse("admin:organismes_organisme_changelist"))

    assert agent.pk in changelist_pks(staff)
    assert world["other_organisme"].pk in changelist_pks(organismes)


def test_a_partner_cannot_access_the_admin(client):
    gestionnaire = GestionnaireFactory()
    ConventionFactory(structure=gestionnaire.structure)
    client.force_login(gestionnaire)

    index = client.get("/admin/")
    structures = client.get(reverse("admin:organismes_structurepartenaire_changelist"))

    assert index.status_code == 302
    assert index["Location"].startswith(reverse("admin:login"))
    assert structures.status_code == 302
    assert structures["Location"].startswith(reverse("admin:login"))


# --- Query counts ---------------------------------------------------------------------------


def count_queries(client, url: str, expected_rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == expected_rows
    return len(queries)


def add_partners(agent, count: int) -> None:
    """`count` structures in the agent's scope, each with a convention and one gestionnaire."""
    for _ in range(count):
        convention = ConventionFactory(organisme=agent.organisme)
        GestionnaireFactory(structure=convention.structure)


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:organismes_structurepartenaire_changelist",
        "admin:conventions_convention_changelist",
        "admin:accounts_partneraccount_changelist",
    ],
)
def test_a_changelist_makes_as_many_queries_for_30_rows_as_for_3(client, agent, url_name):
    # Another organisme's partners too, so that the scope filters something.
    ConventionFactory()
    log_in_verified(client, agent)
    url = reverse(url_name)
    add_partners(agent, 3)
    client.get(url)  # warms the per-process caches (content types, session)

    with_3 = count_queries(client, url, 3)
    add_partners(agent, 27)
    with_30 = count_queries(client, url, 30)

    assert with_30 == with_3
