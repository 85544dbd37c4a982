"""The portal's own identity (issue 19, item 11): the name, a mark of its own and the organisme in
the header; the identity and the legal links in the footer of every page, the standalone 500 page
included; one type scale in the stylesheet; nothing that the strict CSP would block."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import loader
from django.urls import reverse

from tests.factories import TechnicienFactory
from tests.test_shell import partner_with_organisme

pytestmark = pytest.mark.django_db

STYLESHEET = Path(settings.BASE_DIR) / "static" / "css" / "espace-partenaires.css"
LEGAL_LINKS = [
    ("legal:accessibilite", "Accessibilité"),
    ("legal:mentions_legales", "Mentions légales"),
    ("legal:donnees_personnelles", "Données personnelles"),
    ("legal:plan_du_site", "Plan du site"),
]
TAGLINE = "Le portail des partenaires de l'Assurance Maladie"


def footer_of(html: str) -> str:
    (footer,) = re.findall(r'<footer class="site-footer">.*?</footer>', html, re.S)
    return footer


def assert_legal_links(footer: str) -> None:
    for name, label in LEGAL_LINKS:
        assert re.search(rf'<a href="{re.escape(reverse(name))}">{label}', footer), name


def test_the_header_shows_the_portal_its_mark_and_the_selected_organisme(client):
    partner_with_organisme(client, factory=TechnicienFactory, nom="CPAM GIRONDE")

    html = client.get(reverse("home")).text

    (header,) = re.findall(r'<header class="site-header">.*?</header>', html, re.S)
    assert '<span class="logo-name">Espace <span>Partenaires</span></span>' in header
    assert TAGLINE in header
    # The mark is ours, drawn inline, decorative next to the name; no Marianne, no DSFR.
    assert '<svg class="marque"' in header and 'aria-hidden="true"' in header
    assert "CPAM GIRONDE" in header
    assert "marianne" not in html.lower() and "dsfr" not in html.lower()


def test_every_portal_page_ends_with_the_identity_and_the_legal_links(client):
    partner_with_organisme(client, nom="CPAM GIRONDE")

    for url in (reverse("home"), reverse("accounts:techniciens"), reverse("accounts:ma_structure")):
        footer = footer_of(client.get(url).text)

        assert "Espace Partenaires" in footer and TAGLINE in footer, url
        assert "CPAM GIRONDE" in footer, url
        assert_legal_links(footer)


def test_the_500_page_stands_alone_with_the_identity_and_the_legal_links(
    django_assert_num_queries,
):
    with django_assert_num_queries(0):
        html = loader.render_to_string("500.html")  # no request, no context

    assert '<span class="logo-name">Espace <span>Partenaires</span></span>' in html
    footer = footer_of(html)
    assert TAGLINE in footer
    assert_legal_links(footer)


def test_the_admin_carries_the_portal_name_and_its_mark(client):
    html = client.get(reverse("admin:login")).text

    assert re.search(r'<div id="site-name"><a href="/admin/"><svg class="marque"', html)
    assert "Espace Partenaires — administration" in html


def test_every_font_size_of_the_stylesheet_is_a_step_of_the_type_scale():
    css = STYLESHEET.read_text()
    scale = dict(re.findall(r"(--text-[a-z0-9]+):\s*([0-9.]+rem)", css))

    sizes = re.findall(r"font-size:\s*([^;}]+)", css)

    assert set(scale) == {"--text-sm", "--text-base", "--text-lg", "--text-xl", "--text-2xl"}
    assert sizes
    assert [size for size in sizes if not re.fullmatch(r"var\(--text-[a-z0-9]+\)", size)] == []
    assert {size[4:-1] for size in sizes} <= set(scale)


def test_no_portal_template_needs_an_inline_style_or_script_without_nonce():
    """The CSP allows styles from our own files only, and inline scripts with the request's
    nonce only."""
    root = Path(settings.BASE_DIR)
    paths = [*(root / "jinja2").rglob("*.html"), *(root / "templates").rglob("*.html")]
    assert len(paths) > 100
    offending = []
    for path in paths:
        if "emails" in path.parts:  # e-mail clients read inline styles; no CSP there
            continue
        text = path.read_text()
        if re.search(r"\sstyle=", text) or "<style" in text:
            offending.append(f"{path}: style")
        for script in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in script and "nonce=" not in script:  # files of our own: 'self'
                offending.append(f"{path}: {script}")
    assert offending == []
