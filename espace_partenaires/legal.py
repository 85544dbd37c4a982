"""The legal pages (issue 17, item 4; SPEC §10), public, linked from the footer of every page:
the accessibility statement, the legal notice, the personal-data page and the site map. In the
project package, above every app: the personal-data page reads the delays of all of them."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .retention import retention_delays

# The day the accessibility statement was drawn up, from the tests of docs/accessibility.md:
# change it when those tests, or the pages they cover, change.
ACCESSIBILITY_STATEMENT_DATE = datetime.date(2026, 12, 1)


@login_not_required
def accessibilite(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "legal/accessibilite.html",
        {
            "statement_date": ACCESSIBILITY_STATEMENT_DATE,
            "publisher": settings.LEGAL_PUBLISHER,
            "contact_email": settings.ACCESSIBILITY_CONTACT_EMAIL,
        },
    )


@login_not_required
def mentions_legales(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "legal/mentions_legales.html",
        {
            "publisher": settings.LEGAL_PUBLISHER,
            "publisher_address": settings.LEGAL_PUBLISHER_ADDRESS,
            "publisher_phone": settings.LEGAL_PUBLISHER_PHONE,
            "director": settings.LEGAL_DIRECTOR,
            "host": settings.LEGAL_HOST,
            "host_address": settings.LEGAL_HOST_ADDRESS,
            "host_phone": settings.LEGAL_HOST_PHONE,
        },
    )


@login_not_required
def donnees_personnelles(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "legal/donnees_personnelles.html",
        {
            "retention_delays": retention_delays(),
            "publisher": settings.LEGAL_PUBLISHER,
            "dpo_email": settings.DPO_CONTACT_EMAIL,
        },
    )


# --- Plan du site ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteMapPage:
    label: str
    url: str
    reachable: bool  # linked only when this visitor may open it


@dataclass(frozen=True)
class SiteMapSection:
    title: str
    pages: list[SiteMapPage]
    note: str = ""


def site_map(user) -> list[SiteMapSection]:
    """Every public page, then the main pages of each role: linked for the visitor's own role,
    named without a link for the others (what exists, without sending to a refusal)."""

    def pages(reachable: bool, *entries: tuple) -> list[SiteMapPage]:
        """(label, url name[, url arguments]) of each page."""
        return [
            SiteMapPage(label, reverse(name, args=args), reachable)
            for label, name, *args in entries
        ]

    partner = user.is_authenticated and user.is_partner
    gestionnaire = partner and user.is_gestionnaire
    technicien = partner and user.is_technicien
    staff = user.is_authenticated and user.is_staff
    for_role = _("Accessible après connexion, avec ce rôle.")
    return [
        SiteMapSection(
            _("Pages publiques"),
            pages(
                True,
                (_("Connexion"), "accounts:login"),
                (_("Mot de passe oublié"), "accounts:password_reset"),
                (_("Identifiant oublié"), "accounts:identifiant_oublie"),
                (_("Pré-inscription d'une structure"), "inscriptions:preinscription"),
                (_("Contact"), "inscriptions:contact"),
                (_("Conditions générales d'utilisation"), "accounts:cgu"),
                (_("Aide"), "accounts:aide"),
                (_("Manuel du gestionnaire partenaire"), "accounts:aide_manual", "gestionnaire"),
                (_("Manuel du technicien partenaire"), "accounts:aide_manual", "technicien"),
                (_("Manuel de l'agent de caisse"), "accounts:aide_manual", "agent"),
                (_("Déclaration d'accessibilité"), "legal:accessibilite"),
                (_("Mentions légales"), "legal:mentions_legales"),
                (_("Données personnelles"), "legal:donnees_personnelles"),
                (_("Plan du site"), "legal:plan_du_site"),
            ),
        ),
        SiteMapSection(
            _("Tous les partenaires"),
            pages(
                partner,
                (_("Accueil"), "home"),
                (_("Choix de l'organisme"), "accounts:organisme_selection"),
                (_("Changer mon mot de passe"), "accounts:password_change"),
            ),
            "" if partner else for_role,
        ),
        SiteMapSection(
            _("Gestionnaire partenaire"),
            pages(
                gestionnaire,
                (_("Gestion des comptes"), "accounts:techniciens"),
                (_("Ajouter un technicien"), "accounts:technicien_create"),
                (_("Ma structure"), "accounts:ma_structure"),
                (_("Demandes de la structure"), "demandes:list"),
            ),
            "" if gestionnaire else for_role,
        ),
        SiteMapSection(
            _("Technicien partenaire"),
            pages(
                technicien,
                (_("Nouvelle demande"), "demandes:choose"),
                (_("Mes demandes"), "demandes:list"),
            ),
            "" if technicien else for_role,
        ),
        SiteMapSection(
            _("Agent de caisse et administrateur"),
            pages(staff, (_("Administration"), "admin:index")),
            "" if staff else for_role,
        ),
    ]


@login_not_required
def plan_du_site(request: HttpRequest) -> HttpResponse:
    return render(request, "legal/plan_du_site.html", {"sections": site_map(request.user)})
