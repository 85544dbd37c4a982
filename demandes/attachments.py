"""Files sent with a demande: PDF, JPEG or PNG by their content, limited in number and size,
scanned by ClamAV's clamd when one is configured — all before anything is stored."""

import re
import unicodedata

from clamav_client.clamd import ClamdError, ClamdNetworkSocket, ClamdUnixSocket
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The first bytes of each accepted type; the name's extension proves nothing.
SIGNATURES = {
    "application/pdf": (b"%PDF-", ".pdf"),
    "image/jpeg": (b"\xff\xd8\xff", ".jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", ".png"),
}


def sniff(upload: UploadedFile) -> str | None:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return next(
        (mime for mime, (magic, _ext) in SIGNATURES.items() if head.startswith(magic)), None
    )


def safe_name(name: str, mime: str) -> str:
    """'../Relevé d’identité (2).PDF' → 'Releve_d_identite_2.pdf': letters, digits, . _ -"""
    stem = re.split(r"[\\/]", name)[-1].rsplit(".", 1)[0]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_stem).strip("_")[:80] or "document"
    return f"{ascii_stem}{SIGNATURES[mime][1]}"


def _clamd():
    timeout = settings.CLAMD_TIMEOUT
    if settings.CLAMD_SOCKET:
        return ClamdUnixSocket(settings.CLAMD_SOCKET, timeout=timeout)
    if settings.CLAMD_HOST:
        return ClamdNetworkSocket(settings.CLAMD_HOST, settings.CLAMD_PORT, timeout=timeout)
    return None


def scan(upload: UploadedFile) -> None:
    """Raise ValidationError if clamd finds something or cannot answer (fail closed)."""
    clamd = _clamd()
    if clamd is None:
        return
    upload.seek(0)
    try:
        result = clamd.instream(upload)
    except (ClamdError, OSError) as error:
        raise forms.ValidationError(
            _(
                "L'analyse antivirus de « %(name)s » est momentanément impossible : "
                "réessayez plus tard."
            )
            % {"name": upload.name},
            code="antivirus_unavailable",
        ) from error
    finally:
        upload.seek(0)
    status, _signature = result.get("stream", ("ERROR", None))
    if status != "OK":
        raise forms.ValidationError(
            _("Le fichier « %(name)s » est refusé : l'antivirus y a détecté un risque.")
            % {"name": upload.name},
            code="infected",
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files; each checked for type, size and viruses. Cleaned: a list of uploads,
    each with `.mime` and `.safe_name` set."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", gettext_lazy("Pièces jointes"))
        kwargs.setdefault(
            "help_text",
            gettext_lazy(
                "PDF, JPEG ou PNG ; %(count)s fichiers au plus, %(size)s Mo chacun au plus."
            )
            % {"count": settings.ATTACHMENTS_MAX_FILES, "size": settings.ATTACHMENTS_MAX_SIZE_MB},
        )
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "accept": ".pdf,.jpg,.jpeg,.png"}

    def clean(self, data, initial=None):
        uploads = [upload for upload in (data or []) if upload]
        if not uploads:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        if len(uploads) > settings.ATTACHMENTS_MAX_FILES:
            raise forms.ValidationError(
                _("Vous pouvez joindre %(count)s fichiers au plus.")
                % {"count": settings.ATTACHMENTS_MAX_FILES},
                code="too_many",
            )
        max_bytes = settings.ATTACHMENTS_MAX_SIZE_MB * 1024 * 1024
        for upload in uploads:
            if upload.size == 0:
                raise forms.ValidationError(
                    _("Le fichier « %(name)s » est vide.") % {"name": upload.name}, code="empty"
                )
            if upload.size > max_bytes:
                raise forms.ValidationError(
                    _("Le fichier « %(name)s » dépasse %(size)s Mo.")
                    % {"name": upload.name, "size": settings.ATTACHMENTS_MAX_SIZE_MB},
                    code="too_big",
                )
            mime = sniff(upload)
            if mime is None:
                raise forms.ValidationError(
                    _(
                        "Le fichier « %(name)s » n'est ni un PDF, ni une image JPEG ou PNG "
                        "(son contenu a été vérifié, pas seulement son nom)."
                    )
                    % {"name": upload.name},
                    code="bad_type",
                )
            scan(upload)
            upload.mime = mime
            upload.safe_name = safe_name(upload.name, mime)
        return uploads
