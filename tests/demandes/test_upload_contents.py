"""What is accepted is parsed, not only sniffed (issue 16, item 6): a PDF must open in qpdf
(pikepdf) with no script, no launch action, no embedded file, no encryption and nothing around
the document; an image must decode in Pillow, and what is stored is Pillow's new encoding of
its pixels (no EXIF, no GPS, no payload). Each refusal names the file, and nothing is stored.

These tests check the field that every upload goes through (the portal's demande and
complement, the admin's closing and documents); tests/demandes/test_portal.py and
test_admin.py send the same files through the pages.
"""

import io
import struct
import zlib

import pikepdf
import pytest
from PIL import ExifTags, Image, PngImagePlugin

from tests.helpers import PDF, image_file, pdf_document, submit

# What a browser runs when it takes a file for a web page.
HTML = b"<html><body><script>fetch('/admin/').then(r => r.text())</script></body></html>"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR" + b"-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

UNREADABLE_PDF = (
    "Le fichier « document.pdf » ne peut pas être lu comme un PDF : il est peut-être endommagé "
    "ou incomplet. Enregistrez-le de nouveau au format PDF, puis joignez-le."
)
ENCRYPTED_PDF = (
    "Le fichier « document.pdf » est protégé (mot de passe ou chiffrement) : joignez une version "
    "sans protection."
)
ACTIVE_PDF = (
    "Le fichier « document.pdf » est refusé : ce PDF contient du contenu actif (un script ou le "
    "lancement d'un programme). Imprimez-le au format PDF (« Imprimer », puis « Enregistrer au "
    "format PDF ») et joignez cette copie."
)
EMBEDDED_PDF = (
    "Le fichier « document.pdf » est refusé : ce PDF contient d'autres fichiers. Joignez chaque "
    "document séparément."
)
EXTRA_CONTENT_PDF = (
    "Le fichier « document.pdf » est refusé : il contient autre chose que le document (du code "
    "de page web, ou des données après la fin du PDF). Enregistrez-le de nouveau au format PDF, "
    "puis joignez-le."
)
NOT_A_DOCUMENT = (
    "Le fichier « document.pdf » n'est ni un PDF, ni une image JPEG ou PNG "
    "(son contenu a été vérifié, pas seulement son nom)."
)


def accepted(name: str, content: bytes):
    """The one upload the field hands to the services, as it will be stored."""
    form = submit((name, content))
    assert form.is_valid(), form.errors
    [upload] = form.cleaned_data["pieces"]
    return upload


def stored_bytes(upload) -> bytes:
    upload.seek(0)
    return upload.read()


# --- PDF ------------------------------------------------------------------------------------


def open_action_javascript(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.launchURL('https://evil.example')")
    )


def javascript_in_the_names_tree(pdf: pikepdf.Pdf) -> None:
    script = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pdf.make_stream(b"app.alert(1)"))
    )
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("a"), script]))
    )


def page_opened_runs_javascript(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.AA = pikepdf.Dictionary(
        O=pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    )


def launch_action(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.Launch,
        Win=pikepdf.Dictionary(F=pikepdf.String("cmd.exe"), P=pikepdf.String("/c calc")),
    )


def embedded_file(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["facture.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00", mime_type="")


def file_attachment_annotation(pdf: pikepdf.Pdf) -> None:
    spec = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00", filename="facture.exe")
    pdf.pages[0].obj.Annots = pdf.make_indirect(
        pikepdf.Array(
            [
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot,
                    Subtype=pikepdf.Name.FileAttachment,
                    Rect=pikepdf.Array([72, 700, 92, 720]),
                    FS=spec.obj,
                )
            ]
        )
    )


def html_in_a_stream(pdf: pikepdf.Pdf) -> None:
    # Uncompressed, so that the raw bytes hold the page a browser would run.
    pdf.Root.Extra = pdf.make_stream(HTML)


def html_in_a_comment_after_the_header(document: bytes) -> bytes:
    header, rest = document.split(b"\n", 1)
    return header + b"\n%" + HTML + b"\n" + rest


def test_a_valid_pdf_is_accepted_and_stored_as_it_was_sent():
    upload = accepted("Relevé d'identité.PDF", PDF)

    assert (upload.mime, upload.safe_name) == ("application/pdf", "Releve_d_identite.pdf")
    assert stored_bytes(upload) == PDF
    assert upload.size == len(PDF)


def test_a_pdf_with_links_and_compressed_streams_is_accepted():
    def link(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].obj.Annots = pikepdf.Array(
            [
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot,
                    Subtype=pikepdf.Name.Link,
                    Rect=pikepdf.Array([72, 760, 300, 790]),
                    A=pikepdf.Dictionary(
                        S=pikepdf.Name.URI, URI=pikepdf.String("https://ameli.fr")
                    ),
                )
            ]
        )

    document = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf_document(link))) as pdf:
        pdf.save(
            document, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate
        )

    assert accepted("document.pdf", document.getvalue()).mime == "application/pdf"


def test_a_compressed_stream_whose_bytes_happen_to_spell_a_tag_is_accepted():
    # A scanner's compressed image holds any byte sequence; "<svg " among them is chance, not
    # markup (about once in 2000 files of 10 MB): never refused for it.
    def compressed_bytes_like_a_tag(pdf: pikepdf.Pdf) -> None:
        pdf.Root.Page1 = pdf.make_stream(b"0 0 m 10 10 l S\n" * 200)  # the scan's first bytes
        stream = pdf.make_stream(b"")
        stream.write(b"\x78\x9c\x8b<svg \x07\x93<html>\x01", filter=pikepdf.Name.FlateDecode)
        pdf.Root.Scan = stream

    content = pdf_document(compressed_bytes_like_a_tag)
    assert content.find(b"<svg ") > 1445  # beyond what a browser sniffs

    assert accepted("scan.pdf", content).mime == "application/pdf"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"%PDF-1.4\n", UNREADABLE_PDF, id="header only"),
        pytest.param(
            b"%PDF-1.4\n" + EICAR + b"\n%%EOF\n", UNREADABLE_PDF, id="EICAR behind a header"
        ),
        pytest.param(PDF[: len(PDF) // 2], UNREADABLE_PDF, id="truncated"),
        pytest.param(pdf_document(open_action_javascript), ACTIVE_PDF, id="OpenAction JavaScript"),
        pytest.param(pdf_document(javascript_in_the_names_tree), ACTIVE_PDF, id="names JavaScript"),
        pytest.param(
            pdf_document(page_opened_runs_javascript), ACTIVE_PDF, id="page AA JavaScript"
        ),
        pytest.param(pdf_document(launch_action), ACTIVE_PDF, id="Launch"),
        pytest.param(pdf_document(embedded_file), EMBEDDED_PDF, id="EmbeddedFiles"),
        pytest.param(pdf_document(file_attachment_annotation), EMBEDDED_PDF, id="FileAttachment"),
        pytest.param(
            pdf_document(encryption=pikepdf.Encryption(owner="proprietaire", user="")),
            ENCRYPTED_PDF,
            id="encrypted, opens without a password",
        ),
        pytest.param(
            pdf_document(encryption=pikepdf.Encryption(owner="proprietaire", user="secret")),
            ENCRYPTED_PDF,
            id="encrypted, needs a password",
        ),
        pytest.param(PDF + HTML, EXTRA_CONTENT_PDF, id="HTML after %%EOF"),
        pytest.param(html_in_a_comment_after_the_header(PDF), EXTRA_CONTENT_PDF, id="HTML comment"),
        pytest.param(pdf_document(html_in_a_stream), EXTRA_CONTENT_PDF, id="HTML in a stream"),
        # Refused before this issue already, by its first bytes: kept so that it stays refused.
        pytest.param(HTML + b"\n" + PDF, NOT_A_DOCUMENT, id="HTML before the header"),
    ],
)
def test_a_pdf_that_is_not_a_plain_document_is_refused_with_its_reason(content, message):
    form = submit(("document.pdf", content))

    assert form.errors == {"pieces": [message]}


def test_one_refused_pdf_refuses_the_whole_sending():
    form = submit(("releve.pdf", PDF), ("document.pdf", pdf_document(launch_action)))

    assert form.errors == {"pieces": [ACTIVE_PDF]}


def test_whitespace_after_the_end_of_file_marker_is_no_extra_content():
    # Some generators end with a blank line or two, or NUL padding.
    assert accepted("document.pdf", PDF + b"\r\n\n\x00\x00").mime == "application/pdf"


# --- Images ---------------------------------------------------------------------------------


def decoded(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def with_gps_and_orientation() -> Image.Exif:
    """What a phone writes: its make, where the photo was taken, and that it was held upright
    (orientation 6: the pixels are to be turned 90° clockwise to be seen)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Téléphone"
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (44.0, 50.0, 12.0),
            ExifTags.GPS.GPSLongitudeRef: "W",
            ExifTags.GPS.GPSLongitude: (0.0, 34.0, 48.0),
        }
    )
    return exif


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header says it is width × height: what a decompression bomb says."""
    content = image_file("PNG", size=(8, 8))
    header = struct.pack(">II", width, height) + content[24:29]
    chunk = b"IHDR" + header
    return content[:12] + chunk + struct.pack(">I", zlib.crc32(chunk)) + content[33:]


def test_a_valid_png_is_accepted_and_stored_as_pillow_encodes_its_pixels():
    content = image_file("PNG")

    upload = accepted("photo.PNG", content)

    assert (upload.mime, upload.safe_name) == ("image/png", "photo.png")
    stored = decoded(stored_bytes(upload))
    assert (stored.format, stored.size) == ("PNG", (40, 30))
    assert stored.convert("RGB").tobytes() == decoded(content).convert("RGB").tobytes()
    assert upload.size == len(stored_bytes(upload))


def test_a_valid_jpeg_is_accepted_and_stored_re_encoded():
    upload = accepted("scan.jpeg", image_file("JPEG"))

    assert (upload.mime, upload.safe_name) == ("image/jpeg", "scan.jpg")
    stored = decoded(stored_bytes(upload))
    assert (stored.format, stored.size) == ("JPEG", (40, 30))


def test_a_png_html_polyglot_is_stored_without_its_payload():
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", HTML.decode())
    polyglot = image_file("PNG", pnginfo=text) + HTML  # in a text chunk, and after IEND

    upload = accepted("photo.png", polyglot)

    stored = stored_bytes(upload)
    assert b"<script" not in stored and b"<html" not in stored
    assert decoded(stored).tobytes() == decoded(polyglot).tobytes()


def test_a_jpeg_html_polyglot_is_stored_without_its_payload():
    polyglot = image_file("JPEG", comment=HTML) + HTML

    stored = stored_bytes(accepted("photo.jpg", polyglot))

    assert b"<script" not in stored
    assert "comment" not in decoded(stored).info


def test_a_jpeg_loses_its_exif_and_gps_but_keeps_its_orientation():
    photo = image_file("JPEG", size=(40, 30), exif=with_gps_and_orientation())
    assert decoded(photo).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the phone's, to be dropped

    stored = decoded(stored_bytes(accepted("photo.jpg", photo)))

    assert not stored.getexif()
    assert "exif" not in stored.info
    # Turned as the phone said: upright, 30 wide and 40 high, the dark half now on top.
    assert stored.size == (30, 40)
    assert stored.convert("L").getpixel((15, 5)) < 40 < stored.convert("L").getpixel((15, 35))


def test_a_palette_png_keeps_its_transparency():
    image = Image.new("P", (10, 10), 0)
    image.putpalette([255, 255, 255, 192, 57, 43])
    image.paste(1, (0, 0, 5, 10))
    content = io.BytesIO()
    image.save(content, "PNG", transparency=0)

    stored = decoded(stored_bytes(accepted("logo.png", content.getvalue())))

    assert stored.convert("RGBA").getpixel((8, 5))[3] == 0
    assert stored.convert("RGBA").getpixel((2, 5)) == (192, 57, 43, 255)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "photo.png",
            b"\x89PNG\r\n\x1a\n" + HTML,
            "Le fichier « photo.png » ne peut pas être lu comme une image PNG : il est peut-être "
            "endommagé ou incomplet.",
            id="PNG signature only",
        ),
        pytest.param(
            "photo.jpg",
            image_file("JPEG", size=(400, 300))[:300],
            "Le fichier « photo.jpg » ne peut pas être lu comme une image JPEG : il est peut-être "
            "endommagé ou incomplet.",
            id="truncated JPEG",
        ),
        pytest.param(
            "carte.png",
            png_claiming(8000, 8000),
            "L'image « carte.png » est trop grande (50 millions de pixels au plus) : réduisez sa "
            "taille, puis joignez-la.",
            id="64 million pixels",
        ),
        pytest.param(
            "carte.png",
            png_claiming(30_000, 30_000),
            "L'image « carte.png » est trop grande (50 millions de pixels au plus) : réduisez sa "
            "taille, puis joignez-la.",
            id="beyond Pillow's own bomb limit",
        ),
    ],
)
def test_an_image_that_does_not_decode_or_is_too_large_is_refused(name, content, message):
    form = submit((name, content))

    assert form.errors == {"pieces": [message]}


@pytest.mark.parametrize(
    "name", ["attestation 185057800608436.pdf", "1_85_05_78_006_084_91.pdf", "NIR1850578006084.pdf"]
)
def test_a_file_named_after_a_nir_is_refused_without_repeating_the_name(name):
    form = submit((name, PDF))

    [message] = form.errors["pieces"]
    assert "semble contenir un numéro de sécurité sociale (NIR)" in message
    assert "Renommez le fichier" in message
    assert name not in message


def test_a_file_named_with_dates_and_references_is_accepted():
    assert accepted("EP-2026-000123 facture du 01-02-2026.pdf", PDF).mime == "application/pdf"
