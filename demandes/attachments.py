"""Files sent with a demande or by the fund: PDF, JPEG or PNG, limited in number and size, parsed
rather than sniffed, and scanned by ClamAV's clamd — all before anything is stored.

- A PDF must open in qpdf (pikepdf) and hold no script, no launch action, no embedded file, no
  encryption, and nothing around the document (no web page's code, no data after its end): it is
  then stored as it was sent, so that a signed document stays signed.
- An image must decode in Pillow, within a number of pixels; what is stored is Pillow's own
  encoding of its pixels, turned upright: its EXIF (GPS position, device) and any payload hidden
  in its chunks or after its end are gone.
- The bytes stored are the bytes clamd scans. Without clamd, files are refused unless
  UPLOADS_WITHOUT_ANTIVIRUS allows it (the default with DEBUG=true; `check --deploy` warns).
"""

import io
import re
import unicodedata

import pikepdf
from clamav_client.clamd import ClamdError, ClamdNetworkSocket, ClamdUnixSocket
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageOps

from core.nir import contains_nir

# The first bytes of each accepted type; the name's extension proves nothing.
SIGNATURES = {
    "application/pdf": (b"%PDF-", ".pdf"),
    "image/jpeg": (b"\xff\xd8\xff", ".jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", ".png"),
}

# An image is decoded in memory (about 3 bytes a pixel): 50 million pixels (a 48-megapixel
# phone's photo) is the most a page of a document needs, and 150 MB the most one upload costs.
MAX_IMAGE_PIXELS = 50_000_000
# Pillow's decoders per type (Pillow reads some phones' JPEG photos as MPO, JPEG with a second
# picture), and how the pixels are written again.
IMAGE_FORMATS = {"image/jpeg": ("JPEG", "MPO"), "image/png": ("PNG",)}
IMAGE_SAVE = {"image/jpeg": ("JPEG", {"quality": 90}), "image/png": ("PNG", {})}

# What a browser taking the file for a web page would run or show; none of it has a place in
# a PDF (its text is in content streams, drawn by operators, not tags). Looked for where a
# browser sniffing the type reads (the first 1445 bytes, WHATWG MIME Sniffing §7) and in the
# streams stored as they are; never in compressed streams, whose bytes are random (a 10 MB scan
# would hold "<svg " by chance about once in 2000 files).
HTML_MARKUP = re.compile(rb"<(?:!doctype\s+html|html|head|body|script|iframe|svg)[\s/>]", re.I)
SNIFFED_BYTES = 1445
# After the last end-of-file marker, a PDF may only have line ends, spaces or NUL padding.
PDF_END = b"%%EOF"
PDF_TRAILING_BYTES = b" \t\r\n\x00\x0c"
# Keys and names that make a PDF act rather than show (PDF 32000-1 §12.6, §7.11): scripts, launch
# of a program, import of data, rich media, XFA forms (which carry scripts), embedded files.
PDF_ACTIVE_KEYS = {"/JS", "/JavaScript", "/XFA", "/RichMediaContent"}
PDF_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute"}
PDF_EMBEDDING_KEYS = {"/EmbeddedFiles", "/EF"}
PDF_EMBEDDING_TYPES = {"/EmbeddedFile", "/FileAttachment", "/RichMedia"}


class RefusedFile(Exception):
    """Why a file's content is refused: the code of the field's ValidationError."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


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


def check_pdf(content: bytes) -> None:
    """Raise RefusedFile unless `content` is a plain PDF document."""
    end = content.rfind(PDF_END)
    if end == -1:
        raise RefusedFile("pdf_unreadable")  # cut short: no end-of-file marker
    trailing = content[end + len(PDF_END) :].strip(PDF_TRAILING_BYTES)
    if HTML_MARKUP.search(content, 0, SNIFFED_BYTES) or trailing:
        raise RefusedFile("pdf_extra_content")
    try:
        with pikepdf.open(io.BytesIO(content)) as pdf:
            if pdf.is_encrypted:
                raise RefusedFile("pdf_encrypted")
            if not len(pdf.pages):
                raise RefusedFile("pdf_unreadable")
            refusal = _pdf_refusal(pdf)
    except RefusedFile:
        raise
    except pikepdf.PasswordError as error:
        raise RefusedFile("pdf_encrypted") from error
    except Exception as error:  # whatever qpdf cannot read is refused (fail closed)
        raise RefusedFile("pdf_unreadable") from error
    if refusal:
        raise RefusedFile(refusal)


def _pdf_refusal(pdf: pikepdf.Pdf) -> str | None:
    """Walk every object of the file, the direct ones inside each too (an action is often
    written inline in a page's dictionary), unreferenced ones included."""
    pending = [pdf.trailer, *pdf.objects]
    while pending:
        item = pending.pop()
        if isinstance(item, pikepdf.Dictionary | pikepdf.Stream):
            keys = set(item.keys())
            kinds = {_name(item.get("/Type")), _name(item.get("/Subtype"))}
            if keys & PDF_EMBEDDING_KEYS or kinds & PDF_EMBEDDING_TYPES:
                return "pdf_embedded_file"
            if keys & PDF_ACTIVE_KEYS or _name(item.get("/S")) in PDF_ACTIVE_ACTIONS:
                return "pdf_active_content"
            if (
                isinstance(item, pikepdf.Stream)
                and "/Filter" not in keys
                and HTML_MARKUP.search(item.read_raw_bytes())
            ):
                return "pdf_extra_content"
            children = list(item.values())
        elif isinstance(item, pikepdf.Array):
            children = list(item)
        else:
            continue
        pending.extend(
            child
            for child in children
            if isinstance(child, pikepdf.Dictionary | pikepdf.Array) and not child.is_indirect
        )
    return None


def _name(value) -> str | None:
    return str(value) if isinstance(value, pikepdf.Name) else None


def reencode_image(content: bytes, mime: str) -> bytes:
    """Pillow's encoding of the image's pixels, turned as its EXIF orientation says; raise
    RefusedFile if it does not decode, or has too many pixels to decode."""
    try:
        with Image.open(io.BytesIO(content), formats=IMAGE_FORMATS[mime]) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise RefusedFile("image_too_large")
            image.load()
            upright = ImageOps.exif_transpose(image)
            # Nothing of the original's metadata goes on (EXIF, ICC profile, text chunks, JPEG
            # comment), but a palette's transparent colour, which is part of the pixels.
            transparency = upright.info.get("transparency")
            upright.info = {} if transparency is None else {"transparency": transparency}
            kind, options = IMAGE_SAVE[mime]
            encoded = io.BytesIO()
            upright.save(encoded, kind, **options)
    except RefusedFile:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise RefusedFile("image_too_large") from error
    except Exception as error:  # whatever Pillow cannot decode is refused (fail closed)
        raise RefusedFile("image_unreadable") from error
    return encoded.getvalue()


def checked_content(upload: UploadedFile, mime: str) -> bytes:
    """The bytes to store for `upload` of type `mime`, or ValidationError naming the file."""
    upload.seek(0)
    content = upload.read()
    upload.seek(0)
    try:
        if mime == "application/pdf":
            check_pdf(content)
            return content
        return reencode_image(content, mime)
    except RefusedFile as refused:
        raise forms.ValidationError(
            refusal_message(refused.code, upload.name, mime), code=refused.code
        ) from refused


def refusal_message(code: str, name: str, mime: str) -> str:
    restore = _("Enregistrez-le de nouveau au format PDF, puis joignez-le.")
    messages = {
        "pdf_unreadable": _(
            "Le fichier « %(name)s » ne peut pas être lu comme un PDF : il est peut-être "
            "endommagé ou incomplet."
        )
        + " "
        + restore,
        "pdf_encrypted": _(
            "Le fichier « %(name)s » est protégé (mot de passe ou chiffrement) : joignez une "
            "version sans protection."
        ),
        "pdf_active_content": _(
            "Le fichier « %(name)s » est refusé : ce PDF contient du contenu actif (un script ou "
            "le lancement d'un programme). Imprimez-le au format PDF (« Imprimer », puis "
            "« Enregistrer au format PDF ») et joignez cette copie."
        ),
        "pdf_embedded_file": _(
            "Le fichier « %(name)s » est refusé : ce PDF contient d'autres fichiers. Joignez "
            "chaque document séparément."
        ),
        "pdf_extra_content": _(
            "Le fichier « %(name)s » est refusé : il contient autre chose que le document (du "
            "code de page web, ou des données après la fin du PDF)."
        )
        + " "
        + restore,
        "image_unreadable": _(
            "Le fichier « %(name)s » ne peut pas être lu comme une image %(kind)s : il est "
            "peut-être endommagé ou incomplet."
        ),
        "image_too_large": _(
            "L'image « %(name)s » est trop grande (%(millions)s millions de pixels au plus) : "
            "réduisez sa taille, puis joignez-la."
        ),
    }
    return messages[code] % {
        "name": name,
        "kind": IMAGE_FORMATS.get(mime, ("",))[0],
        "millions": MAX_IMAGE_PIXELS // 1_000_000,
    }


def _clamd():
    timeout = settings.CLAMD_TIMEOUT
    if settings.CLAMD_SOCKET:
        return ClamdUnixSocket(settings.CLAMD_SOCKET, timeout=timeout)
    if settings.CLAMD_HOST:
        return ClamdNetworkSocket(settings.CLAMD_HOST, settings.CLAMD_PORT, timeout=timeout)
    return None


def scan(upload: UploadedFile) -> None:
    """Raise ValidationError if clamd finds something or cannot answer (fail closed), or if
    there is no clamd and UPLOADS_WITHOUT_ANTIVIRUS does not allow it."""
    clamd = _clamd()
    if clamd is None:
        if settings.UPLOADS_WITHOUT_ANTIVIRUS:
            return
        raise forms.ValidationError(
            _(
                "Le fichier « %(name)s » ne peut pas être reçu : aucun antivirus n'est en service "
                "pour l'analyser. Signalez-le à l'administrateur du portail."
            )
            % {"name": upload.name},
            code="antivirus_missing",
        )
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


NIR_IN_NAME = gettext_lazy(
    "Le nom d'un des fichiers semble contenir un numéro de sécurité sociale (NIR) : il est "
    "interdit de le transmettre par Espace Partenaires. Renommez le fichier, puis joignez-le."
)


class AttachmentsField(forms.FileField):
    """Several files; each checked for size, type and content, and for viruses. Cleaned: a list
    of uploads holding the bytes to store (an image's new encoding), each with `.mime` and
    `.safe_name` set."""

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
        accepted = []
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
            if contains_nir(upload.name):
                # The name is not repeated: it is what must not be shown.
                raise forms.ValidationError(NIR_IN_NAME, code="nir")
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
            # What is checked, scanned and stored is this new upload's content, nothing else.
            checked = SimpleUploadedFile(upload.name, checked_content(upload, mime), mime)
            scan(checked)
            checked.mime = mime
            checked.safe_name = safe_name(upload.name, mime)
            accepted.append(checked)
        return accepted
