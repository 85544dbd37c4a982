"""The access log (SPEC §10, issue 17 items 2 and 7): every agent's or superuser's view of a
demande's page, download of an attachment or outgoing document, and export is one append-only row
(who, what, when, from where), written with one INSERT and never on the list pages; superusers
alone read it in the admin, filter it by agent and by demande, and export it; partners' own reads
are not logged; a deleted account's rows still say who it was."""

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.jobs import purge_inactive_accounts
from accounts.models import User
from audit.models import AccessLogEntry
from conventions.models import Offre
from demandes import services
from demandes.attachments import AttachmentsField
from demandes.models import Demande, PieceJointe
from tests.factories import (
    AccessLogEntryFactory,
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import PDF, log_in_verified, make_demande

pytestmark = pytest.mark.django_db

Action = AccessLogEntry.Action

# What the pages cost before the access log (measured on the code without it, a warm
# process): the list must stay at this, the demande's page at this plus the one INSERT.
# Issue 18 adds one, whatever the number of demandes: the agents of the filter "par agent".
# Issue 20 (item 3) takes two away: the side menu is not rendered on this page, and with it
# the two reads of the agent's permissions (user's and groups') that listing every model needs.
CHANGELIST_QUERIES = 9 + 1 - 2
CHANGE_VIEW_QUERIES = 15
# Issue 18 (items 3, 4) added to the demande's page: the UPDATE that marks the partner's messages
# read, and the SELECT of the private notes.
THREAD_QUERIES = 2


def a_pdf(name: str = "attestation.pdf") -> list:
    return AttachmentsField().clean([SimpleUploadedFile(name, PDF, content_type="application/pdf")])


@pytest.fixture
def agent():
    return AgentFactory(identifiant="a.durand", organisme=OrganismeFactory(nom="CPAM DE L'OISE"))


@pytest.fixture
def convention(agent):
    convention = ConventionFactory(
        organisme=agent.organisme,
        structure=StructureFactory(nom="CCAS CREIL"),
        date_debut=datetime.date(2025, 1, 1),
        habilitee=True,
    )
    convention.offres.set(Offre.objects.all())
    return convention


@pytest.fixture
def technicien(convention):
    return TechnicienFactory(structure=convention.structure)


@pytest.fixture
def demande(technicien, convention) -> Demande:
    return make_demande(
        technicien, convention, nom="MARTIN", prenom="Jeanne", uploads=a_pdf("martin.pdf")
    )


@pytest.fixture
def agent_client(client, agent):
    log_in_verified(client, agent)
    return client


@pytest.fixture
def superuser():
    return SuperuserFactory(identifiant="s.admin")


@pytest.fixture
def superuser_client(superuser):
    """A browser of its own: the tests read the log of an agent's client."""
    client = Client()
    log_in_verified(client, superuser)
    return client


def change_url(demande: Demande) -> str:
    return reverse("admin:demandes_demande_change", args=[demande.pk])


def piece_url(piece: PieceJointe) -> str:
    return reverse("demandes:piece", args=[piece.pk])


def download(client, piece: PieceJointe) -> bytes:
    """The file's content (read whole, so that the file is closed), or b"" when refused."""
    response = client.get(piece_url(piece))
    if response.status_code != 200:
        return b""
    return b"".join(response.streaming_content)  # the test client closes it at the end


def partner_client(user) -> Client:
    client = Client()
    log_in_verified(client, user)
    client.get(reverse("accounts:organisme_selection"))
    assert client.session.get("organisme_id") is not None
    return client


def log_url(name: str = "changelist", *args) -> str:
    return reverse(f"admin:audit_accesslogentry_{name}", args=args)


def the_entry() -> AccessLogEntry:
    (entry,) = AccessLogEntry.objects.all()
    return entry


def what_the_entry_says() -> tuple:
    entry = the_entry()
    return (entry.user, entry.action, entry.object_type, entry.object_id, entry.reference)


def inserts_into_the_log(queries) -> list[str]:
    table = AccessLogEntry._meta.db_table
    return [q["sql"] for q in queries if q["sql"].startswith("INSERT") and table in q["sql"]]


# --- Each audited action writes one row, with the right fields ------------------------------


def test_an_agent_viewing_a_demande_writes_one_row(agent_client, agent, demande):
    before = timezone.now()
    response = agent_client.get(change_url(demande))

    assert response.status_code == 200
    entry = the_entry()
    assert entry.user == agent
    assert entry.user_label == "a.durand"
    assert entry.action == Action.VIEW_DEMANDE
    assert entry.object_type == AccessLogEntry.ObjectType.DEMANDE
    assert entry.object_id == demande.pk
    assert entry.reference == demande.reference
    assert before <= entry.at <= timezone.now()
    assert entry.client_ip == "127.0.0.1"


def test_no_insured_persons_name_is_written_in_the_log(agent_client, demande):
    agent_client.get(change_url(demande))
    assert download(agent_client, demande.pieces.get()) == PDF

    for row in AccessLogEntry.objects.values():
        text = " ".join(str(value) for value in row.values()).upper()
        assert "MARTIN" not in text
        assert "JEANNE" not in text


def test_a_superuser_viewing_a_demande_writes_one_row(superuser_client, superuser, demande):
    assert superuser_client.get(change_url(demande)).status_code == 200

    entry = the_entry()
    assert (entry.user, entry.user_label, entry.action) == (
        superuser,
        "s.admin",
        Action.VIEW_DEMANDE,
    )


def test_another_organismes_demande_is_not_found_and_not_logged(agent_client):
    their_convention = ConventionFactory(date_debut=datetime.date(2025, 1, 1))
    their_convention.offres.set(Offre.objects.all())
    theirs = make_demande(TechnicienFactory(structure=their_convention.structure), their_convention)
    assert agent_client.get(change_url(theirs)).status_code == 404
    assert not AccessLogEntry.objects.exists()


def test_the_processing_step_pages_are_not_logged(agent_client, demande):
    """They show the reference, the structure and the status, not the insured person's data;
    the change page they come from and go back to is logged."""
    url = reverse("admin:demandes_demande_complement", args=[demande.pk])
    assert agent_client.post(url).status_code == 200
    assert not AccessLogEntry.objects.exists()


def test_an_agent_downloading_an_attachment_writes_one_row(agent_client, agent, demande):
    piece = demande.pieces.get()

    assert download(agent_client, piece) == PDF

    assert what_the_entry_says() == (
        agent,
        Action.DOWNLOAD_PIECE,
        AccessLogEntry.ObjectType.PIECE,
        piece.pk,
        demande.reference,
    )


def test_an_agent_downloading_an_outgoing_document_writes_one_row(agent_client, agent, demande):
    services.joindre_documents(by=agent, demande=demande, uploads=a_pdf("reponse.pdf"))
    document = demande.pieces.get(sens=PieceJointe.Sens.SORTANTE)

    assert download(agent_client, document) == PDF

    entry = the_entry()
    assert (entry.action, entry.object_id, entry.reference) == (
        Action.DOWNLOAD_DOCUMENT,
        document.pk,
        demande.reference,
    )


def test_partners_downloading_their_own_files_write_nothing(agent, demande, technicien):
    services.joindre_documents(by=agent, demande=demande, uploads=a_pdf("reponse.pdf"))
    gestionnaire = GestionnaireFactory(structure=technicien.structure)
    for partner in (technicien, gestionnaire):
        client = partner_client(partner)
        for piece in demande.pieces.all():
            assert download(client, piece) == PDF
        assert client.get(reverse("demandes:detail", args=[demande.pk])).status_code == 200

    assert not AccessLogEntry.objects.exists()


def test_the_indicators_export_writes_one_row(agent_client, agent, convention, demande):
    page = reverse("admin:demandes_demande_indicateurs")
    params = {"convention": convention.pk, "du": "2026-01-01", "au": "2026-12-31"}

    assert agent_client.get(page, params).status_code == 200
    assert not AccessLogEntry.objects.exists()  # the page shows counts only

    response = agent_client.get(page, {**params, "format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    assert what_the_entry_says() == (
        agent,
        Action.EXPORT_INDICATORS,
        AccessLogEntry.ObjectType.CONVENTION,
        convention.pk,
        convention.reference,
    )


@pytest.mark.parametrize(
    ("proxies", "expected"), [(0, "203.0.113.7"), (1, "198.51.100.20"), (2, "192.0.2.1")]
)
def test_the_client_address_respects_the_trusted_proxies(
    agent_client, demande, settings, proxies, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    agent_client.get(
        change_url(demande),
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.20",
    )
    assert the_entry().client_ip == expected


def test_an_address_that_is_not_one_is_left_empty_and_the_page_still_opens(
    agent_client, demande, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    response = agent_client.get(change_url(demande), HTTP_X_FORWARDED_FOR="not-an-address")
    assert response.status_code == 200
    assert the_entry().client_ip is None


# --- Written without slowing the page ---------------------------------------------------------


def test_the_demandes_page_costs_exactly_one_insert_more(agent_client, demande):
    agent_client.get(change_url(demande))  # a warm process: the content types are cached

    with CaptureQueriesContext(connection) as queries:
        assert agent_client.get(change_url(demande)).status_code == 200

    assert len(queries) == CHANGE_VIEW_QUERIES + THREAD_QUERIES + 1
    assert len(inserts_into_the_log(queries.captured_queries)) == 1


def test_a_download_costs_exactly_one_insert(agent_client, demande):
    with CaptureQueriesContext(connection) as queries:
        assert download(agent_client, demande.pieces.get()) == PDF
    assert len(inserts_into_the_log(queries.captured_queries)) == 1
    assert AccessLogEntry.objects.count() == 1


def test_the_list_of_demandes_costs_the_same_at_two_sizes_and_logs_nothing(
    agent_client, technicien, convention
):
    changelist = reverse("admin:demandes_demande_changelist")
    for count in (5, 60):
        while Demande.objects.count() < count:
            make_demande(technicien, convention)
        agent_client.get(changelist)  # warm
        with CaptureQueriesContext(connection) as queries:
            assert agent_client.get(changelist).status_code == 200
        assert len(queries) == CHANGELIST_QUERIES, count
        assert inserts_into_the_log(queries.captured_queries) == []
    assert not AccessLogEntry.objects.exists()


# --- Append-only ------------------------------------------------------------------------------


@pytest.fixture
def entry(agent_client, demande) -> AccessLogEntry:
    agent_client.get(change_url(demande))
    return the_entry()


def test_a_row_cannot_be_changed(entry):
    entry.reference = "EP-2000-000001"
    with pytest.raises(ValueError, match="ne se modifie pas"):
        entry.save()
    with pytest.raises(TypeError, match="ne se modifie pas"):
        AccessLogEntry.objects.filter(pk=entry.pk).update(reference="EP-2000-000001")
    assert AccessLogEntry.objects.get(pk=entry.pk).reference != "EP-2000-000001"


def test_a_row_cannot_be_deleted_one_by_one(entry):
    with pytest.raises(TypeError, match="purge"):
        entry.delete()
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()


# --- Read by superusers only, in the admin -----------------------------------------------------


def test_agents_cannot_read_the_log(agent_client, entry):
    assert agent_client.get(log_url()).status_code == 403
    assert agent_client.get(log_url("change", entry.pk)).status_code == 403
    assert "audit" not in agent_client.get(reverse("admin:index")).content.decode()


def test_a_superuser_reads_the_log_and_nobody_adds_changes_or_deletes(
    superuser_client, entry, demande
):
    response = superuser_client.get(log_url())

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [entry]
    assert demande.reference in response.content.decode()
    assert "a.durand" in response.content.decode()
    assert superuser_client.get(log_url("change", entry.pk)).status_code == 200
    assert superuser_client.get(log_url("add")).status_code == 403
    assert superuser_client.get(log_url("delete", entry.pk)).status_code == 403
    assert superuser_client.post(log_url("delete", entry.pk), {"post": "yes"}).status_code == 403
    assert superuser_client.post(log_url("change", entry.pk), {"reference": "X"}).status_code == 403
    assert AccessLogEntry.objects.get(pk=entry.pk).reference == demande.reference
    actions = response.context["action_form"].fields["action"].choices
    assert "delete_selected" not in {name for name, _label in actions}


@pytest.fixture
def a_day_of_log(agent, demande, technicien, convention):
    """Two agents' reads of two demandes, and a superuser's, yesterday and today."""
    other_agent = AgentFactory(identifiant="b.martin", organisme=agent.organisme)
    other = make_demande(technicien, convention)
    superuser = SuperuserFactory(identifiant="s.root")

    def read(user, demande, at):
        return AccessLogEntryFactory(
            at=at, user=user, object_id=demande.pk, reference=demande.reference
        )

    now = timezone.now()
    return {
        "agent": [read(agent, demande, now), read(agent, other, now)],
        "other_agent": [read(other_agent, demande, now - datetime.timedelta(days=1))],
        "superuser": [read(superuser, other, now)],
        "demande": demande,
        "other_agent_account": other_agent,
    }


def pks(response) -> set[int]:
    assert response.status_code == 200
    return {entry.pk for entry in response.context["cl"].result_list}


def test_the_log_filters_by_agent_and_searches_by_demande(superuser_client, a_day_of_log):
    day = a_day_of_log
    other_agent = day["other_agent_account"]

    by_agent = superuser_client.get(log_url(), {"user__id__exact": other_agent.pk})
    by_demande = superuser_client.get(log_url(), {"q": day["demande"].reference})

    assert pks(by_agent) == {entry.pk for entry in day["other_agent"]}
    assert pks(by_demande) == {day["agent"][0].pk, day["other_agent"][0].pk}
    response = superuser_client.get(log_url())
    assert response.context["cl"].date_hierarchy == "at"
    # The agents' filter offers the staff's accounts, never the partners'.
    (by_user,) = [spec for spec in response.context["cl"].filter_specs if spec.title == "compte"]
    offered = {label for _pk, label in by_user.lookup_choices}
    assert {"a.durand", "b.martin", "s.root", "s.admin"} <= offered
    assert not {account.identifiant for account in User.objects.partners()} & offered


def test_the_list_of_the_log_costs_the_same_at_two_sizes(
    superuser_client, agent, demande, django_assert_num_queries
):
    def add(count):
        AccessLogEntryFactory.create_batch(count, user=agent, reference=demande.reference)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert superuser_client.get(log_url()).status_code == 200
        return len(queries)

    add(3)
    superuser_client.get(log_url())  # warm
    few = count_queries()
    add(150)
    assert count_queries() == few


def exported(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body), delimiter=";"))


def test_the_export_of_the_log_is_a_csv_of_the_selection_and_is_logged(
    superuser_client, superuser, a_day_of_log
):
    selected = a_day_of_log["agent"]

    response = superuser_client.post(
        log_url(),
        {"action": "export_csv", "_selected_action": [entry.pk for entry in selected]},
    )

    rows = exported(response)
    assert rows[0] == [
        "Date",
        "Compte",
        "Action",
        "Objet",
        "Identifiant de l'objet",
        "Référence",
        "Adresse du client",
    ]
    assert len(rows) == 3
    assert {row[1] for row in rows[1:]} == {"a.durand"}
    assert {row[5] for row in rows[1:]} == {entry.reference for entry in selected}
    assert {row[2] for row in rows[1:]} == {"consultation d'une demande"}
    export = AccessLogEntry.objects.get(action=Action.EXPORT_ACCESS_LOG)
    assert (export.user, export.object_type) == (superuser, AccessLogEntry.ObjectType.JOURNAL)


def test_the_export_of_everything_leaves_its_own_row_out(superuser_client, a_day_of_log):
    response = superuser_client.post(
        log_url(),
        {"action": "export_csv", "select_across": "1", "index": "0", "_selected_action": ["0"]},
    )
    rows = exported(response)
    assert len(rows) == 1 + 4
    assert AccessLogEntry.objects.count() == 5


def test_the_export_neutralises_formulas(superuser_client, agent):
    AccessLogEntryFactory(user=agent, user_label="=HYPERLINK(1)", reference="-1+1")
    response = superuser_client.post(
        log_url(),
        {"action": "export_csv", "_selected_action": [AccessLogEntry.objects.get().pk]},
    )
    (row,) = exported(response)[1:]
    assert row[1].startswith("'=")
    assert row[5] == "'-1+1"


# --- A deleted account's rows stay readable (item 7) ----------------------------------------


def test_a_deleted_accounts_rows_keep_its_identifiant_and_say_compte_supprime(
    superuser_client, agent, entry
):
    assert entry.who == "a.durand"
    agent.delete()

    entry = AccessLogEntry.objects.get(pk=entry.pk)
    assert entry.user is None
    assert entry.user_label == "a.durand"
    assert entry.who == "a.durand (compte supprimé)"
    page = superuser_client.get(log_url()).content.decode()
    assert "a.durand (compte supprimé)" in page


def test_the_purge_of_accounts_leaves_the_log_as_it_was(entry):
    TechnicienFactory(
        structure=StructureFactory(),
        is_active=False,
        inactivated_at=timezone.now() - datetime.timedelta(days=400),
    )
    before = list(AccessLogEntry.objects.values())

    assert purge_inactive_accounts().accounts_deleted == 1

    assert list(AccessLogEntry.objects.values()) == before
