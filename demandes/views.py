from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404

from .models import PieceJointe


def pieces_visible_to(user):
    """Partners see their structure's files; agents their organisme's; superusers all."""
    pieces = PieceJointe.objects.select_related("demande")
    if user.is_superuser:
        return pieces
    if user.is_agent:
        return pieces.filter(demande__organisme_id=user.organisme_id)
    if user.is_partner:
        return pieces.filter(demande__structure_id=user.structure_id)
    return pieces.none()


def piece_download(request: HttpRequest, pk: int) -> FileResponse:
    """The only way to a stored file: looked up through the person's scope (else 404)."""
    piece = get_object_or_404(pieces_visible_to(request.user), pk=pk)
    return FileResponse(
        piece.fichier.open("rb"),
        as_attachment=True,
        filename=piece.nom,
        content_type=piece.type_mime,
    )
