"""Who may download a demande's attachment (SPEC §4, §5, STYLE "Scoping"): the files of the
demandes the person may see, and no other; one queryset says so for the list, the page and the
download, so that another structure's file, or any file once the account is inactive or the
structure's access suspended, is simply not found (404)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from conventions.models import Offre
from demandes import views
from demandes.attachments import AttachmentsField
from demandes.models import Demande, PieceJointe
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import PDF, log_in_verified, make_demande

pytestmark = pytest.mark.django_db


def with_all_offres(**fields):
    convention = ConventionFactory(**fields)
    convention.offres.set(Offre.objects.all())
    return convention


def a_pdf() -> list:
    return AttachmentsField().clean(
        [SimpleUploadedFile("attestation.pdf", PDF, content_type="application/pdf")]
    )


@pytest.fixture
def convention():
    return with_all_offres()


@pytest.fixture
def technicien(convention):
    # A second technicien, so that the first one may be inactivated (never the last one).
    TechnicienFactory(structure=convention.structure)
    return TechnicienFactory(structure=convention.structure)


@pytest.fixture
def piece(technicien, convention) -> PieceJointe:
    return make_demande(technicien, convention, uploads=a_pdf()).pieces.get()


def piece_url(piece: PieceJointe) -> str:
    return reverse("demandes:piece", args=[piece.pk])


def download_as(user, piece: PieceJointe) -> bytes:
    """The download view itself, for this account as the request carries it, whatever the
    session and the log-in backend did before: the file's content, or Http404."""
    request = RequestFactory().get(piece_url(piece))
    request.user = user
    response = views.piece_download(request, pk=piece.pk)
    with response.file_to_stream:  # the test client would close it; here nobody else does
        return b"".join(response.streaming_content)


def logged_in(user) -> Client:
    client = Client()
    log_in_verified(client, user)
    if user.is_partner:
        client.get(reverse("accounts:organisme_selection"))
        assert client.session.get("organisme_id") is not None
    return client


def downloads(response) -> bool:
    return response.status_code == 200 and b"".join(response.streaming_content) == PDF


def test_an_inactivated_technicien_no_longer_finds_a_file_it_downloaded(
    technicien, convention, piece
):
    client = logged_in(technicien)
    assert downloads(client.get(piece_url(piece)))
    assert download_as(technicien, piece) == PDF

    gestionnaire = GestionnaireFactory(structure=convention.structure)
    account_services.inactivate_account(by=gestionnaire, account=technicien)
    technicien.refresh_from_db()

    # Its session is closed (the log-in backend), and the lookup itself finds nothing.
    response = client.get(piece_url(piece))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    with pytest.raises(Http404):
        download_as(technicien, piece)
    assert not PieceJointe.objects.visible_to(technicien).exists()
    assert not Demande.objects.visible_to(technicien).exists()


def test_a_suspended_structure_no_longer_finds_its_files(technicien, convention, piece):
    assert download_as(technicien, piece) == PDF

    convention.structure.suspended_at = timezone.now()
    convention.structure.save()
    technicien.refresh_from_db()

    with pytest.raises(Http404):
        download_as(technicien, piece)


def test_an_inactivated_agent_no_longer_finds_its_organismes_files(convention, piece):
    agent = AgentFactory(organisme=convention.organisme)
    assert downloads(logged_in(agent).get(piece_url(piece)))

    agent.is_active = False
    agent.inactivated_at = timezone.now()
    agent.save()

    with pytest.raises(Http404):
        download_as(agent, piece)


def test_another_structures_file_is_a_404_and_a_colleagues_downloads(technicien, convention, piece):
    colleague = GestionnaireFactory(structure=convention.structure)
    stranger = TechnicienFactory(
        structure=with_all_offres(organisme=convention.organisme).structure
    )

    assert downloads(logged_in(colleague).get(piece_url(piece)))
    assert logged_in(stranger).get(piece_url(piece)).status_code == 404
    with pytest.raises(Http404):
        download_as(stranger, piece)


def test_another_organismes_agent_gets_a_404_and_a_superuser_downloads(convention, piece):
    other_agent = AgentFactory()

    assert logged_in(other_agent).get(piece_url(piece)).status_code == 404
    assert downloads(logged_in(SuperuserFactory()).get(piece_url(piece)))


def test_the_files_visible_are_those_of_the_demandes_visible(technicien, convention, piece):
    other = with_all_offres()
    theirs = make_demande(TechnicienFactory(structure=other.structure), other, uploads=a_pdf())
    agent = AgentFactory(organisme=convention.organisme)

    for user in (technicien, agent):
        assert list(PieceJointe.objects.visible_to(user)) == [piece]
        assert list(Demande.objects.visible_to(user)) == [piece.demande]
    assert set(PieceJointe.objects.visible_to(SuperuserFactory())) == {piece, theirs.pieces.get()}
