"""The fund's work queue in the admin (SPEC §10, issue 18 items 2, 5, 7): a demande taken in
charge is the agent's, agents assign and release their organisme's demandes, the list filters
by owner, the partner never reads the agent's name (unless the fund opts in), bulk actions run
the single action's service on each demande and say what each one became."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as account_services
from demandes import services
from demandes.models import Evenement, Statut
from tests.demandes import test_admin
from tests.demandes.test_portal import logged_in
from tests.factories import AgentFactory, SuperuserFactory
from tests.helpers import log_in_verified, make_demande

pytestmark = pytest.mark.django_db

# The fixtures and helpers of the admin's tests: the same agent, partner and conventions.
agent, agent_client, technicien, convention = (
    test_admin.agent,
    test_admin.agent_client,
    test_admin.technicien,
    test_admin.convention,
)
their_convention, their_technicien = test_admin.their_convention, test_admin.their_technicien
changelist, references, refreshed, url = (
    test_admin.changelist,
    test_admin.references,
    test_admin.refreshed,
    test_admin.url,
)

CHANGELIST = reverse("admin:demandes_demande_changelist")


@pytest.fixture
def colleague(agent):
    return AgentFactory(organisme=agent.organisme, prenom="Marc", nom_usuel="COLLEGUE")


@pytest.fixture
def stranger(their_convention):
    """An agent of another organisme."""
    return AgentFactory(organisme=their_convention.organisme, prenom="Ines", nom_usuel="AILLEURS")


def assign(client, demande, agent_pk) -> object:
    return client.post(url("attribuer", demande), {"apply": "1", "agent": agent_pk or ""})


# --- Assignment -----------------------------------------------------------------------------


def test_taking_in_charge_assigns_the_demande_to_the_agent(
    agent, agent_client, technicien, convention
):
    demande = make_demande(technicien, convention)

    agent_client.post(url("prendre_en_charge", demande))

    demande = refreshed(demande)
    assert (demande.statut, demande.assigned_to) == (Statut.EN_COURS, agent)
    assert demande.assigned_at is not None
    line = demande.evenements.get(kind=Evenement.Kind.ATTRIBUTION)
    assert (line.attribue_a, line.auteur, line.de_l_organisme) == (agent, agent, True)


def test_an_agent_assigns_to_a_colleague_then_releases(
    agent, agent_client, colleague, technicien, convention
):
    demande = make_demande(technicien, convention)

    page = agent_client.post(url("attribuer", demande))
    assert page.status_code == 200
    assert "Marc COLLEGUE" in page.content.decode()
    response = assign(agent_client, demande, colleague.pk)
    assert response.status_code == 302
    assert refreshed(demande).assigned_to == colleague
    assert "Marc COLLEGUE" in agent_client.get(url("change", demande)).content.decode()

    assign(agent_client, demande, None)
    demande = refreshed(demande)
    assert (demande.assigned_to, demande.assigned_at) == (None, None)
    lines = demande.evenements.filter(kind=Evenement.Kind.ATTRIBUTION)
    assert [line.attribue_a for line in lines] == [colleague, None]


def test_the_assignment_page_is_a_post(agent_client, technicien, convention):
    demande = make_demande(technicien, convention)

    assert agent_client.get(url("attribuer", demande)).status_code == 405


def test_an_agent_cannot_assign_to_another_organismes_agent(
    agent_client, stranger, technicien, convention
):
    demande = make_demande(technicien, convention)

    page = agent_client.post(url("attribuer", demande))
    assert "AILLEURS" not in page.content.decode()
    response = assign(agent_client, demande, stranger.pk)

    assert response.status_code == 200  # the form, with its error next to the field
    assert response.context["form"].errors["agent"]
    assert refreshed(demande).assigned_to is None


def test_another_organismes_agent_cannot_assign_our_demande(
    client, stranger, agent, technicien, convention
):
    demande = make_demande(technicien, convention)
    log_in_verified(client, stranger)

    assert client.post(url("attribuer", demande)).status_code == 404
    assert assign(client, demande, stranger.pk).status_code == 404
    assert refreshed(demande).assigned_to is None
    with pytest.raises(services.DemandeRuleError):
        services.attribuer(by=stranger, demande=demande, agent=stranger)
    with pytest.raises(services.DemandeRuleError):
        services.attribuer(by=agent, demande=demande, agent=stranger)


def test_a_closed_demande_is_not_assigned(agent, colleague, technicien, convention):
    demande = make_demande(technicien, convention)
    services.cloturer(by=agent, demande=demande, reponse="Fait.")

    with pytest.raises(services.DemandeRuleError, match="clôturée"):
        services.attribuer(by=agent, demande=demande, agent=colleague)


def test_the_list_filters_mine_unassigned_and_by_agent(
    agent, agent_client, colleague, stranger, technicien, convention
):
    mine, theirs, nobodys = (make_demande(technicien, convention, nom=n) for n in "ABC")
    services.prendre_en_charge(by=agent, demande=mine)
    services.attribuer(by=agent, demande=theirs, agent=colleague)

    assert references(changelist(agent_client, attribution="moi")) == [mine.reference]
    assert references(changelist(agent_client, attribution="personne")) == [nobodys.reference]
    assert references(changelist(agent_client, attribution=str(colleague.pk))) == [theirs.reference]
    response = changelist(agent_client)
    [owner_filter] = [s for s in response.context["cl"].filter_specs if s.title == "attribution"]
    labels = [label for _value, label in owner_filter.lookup_choices]
    assert "Mes demandes" in labels and "Non attribuées" in labels
    assert any("COLLEGUE" in str(label) for label in labels)
    assert not any("AILLEURS" in str(label) for label in labels)
    assert "Marc COLLEGUE" in response.content.decode()  # the owner's column


def test_an_inactivated_agents_open_demandes_are_listed_and_reassigned_in_bulk(
    agent, agent_client, colleague, technicien, convention
):
    left, closed = make_demande(technicien, convention), make_demande(technicien, convention)
    services.prendre_en_charge(by=colleague, demande=left)
    services.prendre_en_charge(by=colleague, demande=closed)
    services.cloturer(by=colleague, demande=closed, reponse="Fait.")
    account_services.inactivate_account(by=SuperuserFactory(), account=colleague)

    assert references(changelist(agent_client, attribution="inactif")) == [left.reference]
    response = agent_client.post(
        CHANGELIST,
        {
            "action": "attribuer_selection",
            ACTION_CHECKBOX_NAME: [left.pk],
            "apply": "1",
            "agent": agent.pk,
        },
    )
    assert response.status_code == 200
    assert refreshed(left).assigned_to == agent


def test_inactivating_an_agent_links_to_their_demandes_to_reassign(client, colleague):
    log_in_verified(client, SuperuserFactory())

    response = client.post(
        reverse("admin:accounts_staffaccount_changelist"),
        {"action": "inactiver", ACTION_CHECKBOX_NAME: [colleague.pk]},
        follow=True,
    )

    colleague.refresh_from_db()
    assert colleague.is_active is False
    assert f"{CHANGELIST}?attribution=inactif" in response.content.decode()


# --- What the partner sees ------------------------------------------------------------------


def test_the_partner_sees_the_organisme_never_the_agents_name(technicien, convention, settings):
    agent = AgentFactory(organisme=convention.organisme, prenom="Zoé", nom_usuel="QUINTAL")
    demande = make_demande(technicien, convention)
    services.prendre_en_charge(by=agent, demande=demande)
    partner = logged_in(technicien)
    detail = reverse("demandes:detail", args=[demande.pk])

    content = partner.get(detail).content.decode()
    assert "Prise en charge par votre organisme" in content
    assert agent.get_full_name() not in content
    assert "QUINTAL" not in content

    settings.SHOW_AGENT_NAME_TO_PARTNERS = True
    assert agent.get_full_name() in partner.get(detail).content.decode()


# --- Bulk actions ---------------------------------------------------------------------------


def bulk(client, action: str, demandes, **data):
    return client.post(
        CHANGELIST,
        {"action": action, ACTION_CHECKBOX_NAME: [d.pk for d in demandes], "apply": "1", **data},
    )


def result_lines(response) -> dict[str, tuple[bool, str]]:
    assert response.status_code == 200
    return {line["reference"]: (line["done"], line["reason"]) for line in response.context["lines"]}


def test_bulk_take_in_charge_says_what_each_demande_became(
    agent, agent_client, technicien, convention
):
    new, taken, closed = (make_demande(technicien, convention) for _ in range(3))
    services.prendre_en_charge(by=agent, demande=taken)
    services.cloturer(by=agent, demande=closed, reponse="Fait.")

    lines = result_lines(bulk(agent_client, "prendre_en_charge_selection", [new, taken, closed]))

    assert lines[new.reference] == (True, "")
    assert lines[taken.reference][0] is False and "en cours" in lines[taken.reference][1]
    assert lines[closed.reference][0] is False and "clôturée" in lines[closed.reference][1]
    assert refreshed(new).assigned_to == agent


def test_bulk_actions_refuse_another_organismes_demande(
    agent_client, technicien, convention, their_technicien, their_convention
):
    ours = make_demande(technicien, convention)
    theirs = make_demande(their_technicien, their_convention)

    response = bulk(agent_client, "cloturer_selection", [ours, theirs], reponse="Réponse.")

    lines = response.context["lines"]
    assert [(line["reference"], line["done"]) for line in lines] == [
        (ours.reference, True),
        (f"n° {theirs.pk}", False),
    ]
    assert "organisme" in lines[1]["reason"]
    assert theirs.reference not in response.content.decode()
    assert refreshed(theirs).statut == Statut.ENVOYEE
    assert refreshed(ours).statut == Statut.CLOTUREE


def test_another_organismes_agent_bulk_acts_on_nothing_of_ours(
    client, stranger, technicien, convention
):
    demande = make_demande(technicien, convention)
    log_in_verified(client, stranger)

    lines = bulk(client, "prendre_en_charge_selection", [demande]).context["lines"]

    assert [(line["done"], line["reference"]) for line in lines] == [(False, f"n° {demande.pk}")]
    assert refreshed(demande).statut == Statut.ENVOYEE


def test_bulk_complement_and_close_with_one_message(agent, agent_client, technicien, convention):
    one, two = make_demande(technicien, convention), make_demande(technicien, convention)

    page = agent_client.post(
        CHANGELIST, {"action": "demander_complement_selection", ACTION_CHECKBOX_NAME: [one.pk]}
    )
    assert page.status_code == 200 and "message" in page.context["form"].fields
    lines = result_lines(
        bulk(agent_client, "demander_complement_selection", [one, two], message="Le RIB.")
    )
    assert lines == {one.reference: (True, ""), two.reference: (True, "")}
    assert {refreshed(d).statut for d in (one, two)} == {Statut.COMPLEMENT_DEMANDE}

    lines = result_lines(bulk(agent_client, "cloturer_selection", [one, two], reponse="Réglé."))
    assert all(done for done, _reason in lines.values())
    assert {refreshed(d).reponse for d in (one, two)} == {"Réglé."}


def test_a_bulk_message_with_a_nir_changes_nothing(agent_client, technicien, convention):
    demande = make_demande(technicien, convention)

    response = bulk(
        agent_client, "cloturer_selection", [demande], reponse="Assuré 1 85 05 78 006 084 91"
    )

    assert response.status_code == 200
    assert response.context["form"].errors["reponse"]
    assert "1 85 05 78 006 084 91" in response.content.decode()  # input kept
    assert refreshed(demande).statut == Statut.ENVOYEE


def test_bulk_assign_offers_only_our_agents(
    agent, agent_client, colleague, stranger, technicien, convention
):
    demande = make_demande(technicien, convention)

    page = agent_client.post(
        CHANGELIST, {"action": "attribuer_selection", ACTION_CHECKBOX_NAME: [demande.pk]}
    )
    assert "COLLEGUE" in page.content.decode() and "AILLEURS" not in page.content.decode()
    response = bulk(agent_client, "attribuer_selection", [demande], agent=stranger.pk)
    assert response.context["form"].errors["agent"]
    lines = result_lines(bulk(agent_client, "attribuer_selection", [demande], agent=colleague.pk))
    assert lines == {demande.reference: (True, "")}
    assert refreshed(demande).assigned_to == colleague


# --- The list -------------------------------------------------------------------------------


def test_the_list_has_french_titles_and_the_owner_column(
    agent, agent_client, technicien, convention
):
    demande = make_demande(technicien, convention, urgent=True, categorie_urgence="suivi-ame")
    services.prendre_en_charge(by=agent, demande=demande)

    content = changelist(agent_client).content.decode()

    assert "<h1>Demandes à traiter</h1>" in content
    assert "Sélectionnez" not in content
    assert "<title>Demandes à traiter" in content
    assert agent.get_full_name() in content
    assert 'class="badge-urgent"' in content


def test_the_list_makes_as_many_queries_for_30_assigned_demandes_as_for_3(
    agent, colleague, agent_client, technicien, convention
):
    def add(count: int) -> None:
        for i in range(count):
            demande = make_demande(technicien, convention, nom=f"NOM{i}")
            services.prendre_en_charge(by=(agent, colleague)[i % 2], demande=demande)

    def queries(rows: int) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert len(references(changelist(agent_client))) == rows
        return [query["sql"] for query in captured.captured_queries]

    add(3)
    with_3 = queries(3)
    add(27)
    with_30 = queries(30)

    assert len(with_30) == len(with_3)
    # The paginator counts the agent's organisme's demandes only: never the whole table.
    counts = [sql for sql in with_30 if "COUNT(" in sql and '"demandes_demande"' in sql]
    assert counts and all("organisme_id" in sql for sql in counts)


def test_a_bulk_action_acts_on_the_checked_demandes_only(agent_client, technicien, convention):
    checked, other = make_demande(technicien, convention), make_demande(technicien, convention)

    response = bulk(agent_client, "prendre_en_charge_selection", [checked], select_across="1")

    assert list(result_lines(response)) == [checked.reference]
    assert refreshed(other).statut == Statut.ENVOYEE


def test_a_superuser_takes_in_charge_without_becoming_the_owner(client, technicien, convention):
    demande = make_demande(technicien, convention)
    log_in_verified(client, SuperuserFactory())

    client.post(url("prendre_en_charge", demande))

    demande = refreshed(demande)
    assert (demande.statut, demande.assigned_to) == (Statut.EN_COURS, None)


def test_the_list_counts_the_partners_messages_the_fund_has_not_read(
    agent, agent_client, technicien, convention
):
    read, unread = make_demande(technicien, convention), make_demande(technicien, convention)
    for demande in (read, unread):
        services.ecrire_message(by=technicien, demande=demande, texte="Une question.")
    services.ecrire_message(by=technicien, demande=unread, texte="Une autre.")
    agent_client.get(reverse("admin:demandes_demande_change", args=[read.pk]))  # read now

    content = changelist(agent_client).content.decode()

    row = r'/(\d+)/change/[^"]*">EP-[^<]+</a>.*?<td class="field-non_lus">(.*?)</td>'
    cells = dict(re.findall(row, content, flags=re.S))
    assert "2 non lus" in cells[str(unread.pk)]
    assert "non lu" not in cells[str(read.pk)]


def test_the_unread_column_costs_no_query_per_row(agent, agent_client, technicien, convention):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            changelist(agent_client)
        return len(captured.captured_queries)

    for _ in range(3):
        services.ecrire_message(
            by=technicien, demande=make_demande(technicien, convention), texte="Bonjour."
        )
    with_3 = queries()
    for _ in range(27):
        services.ecrire_message(
            by=technicien, demande=make_demande(technicien, convention), texte="Bonjour."
        )
    assert queries() == with_3
