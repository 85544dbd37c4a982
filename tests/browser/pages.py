"""Every portal page and state, walked as a person reaches them (issue 7). Each walk calls
`visit(page, state)` on every page and state it reaches: the accessibility test runs axe-core
there, the small-screen test measures the page's width. docs/accessibility.md lists them."""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts import services
from accounts.models import Invitation, Role, User
from conventions.models import Offre
from demandes import services as demandes_services
from demandes.models import Statut
from notifications.models import SentEmail
from tests.browser import scenario
from tests.browser.conftest import give_app_code, heading, log_in, menu
from tests.factories import (
    TEST_PASSWORD,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    TechnicienFactory,
)

Visit = Callable[[Page, str], None]

# The footer's links to the legal pages, and the page each opens.
LEGAL_PAGES = [
    ("Accessibilité : non conforme", "Déclaration d'accessibilité"),
    ("Mentions légales", "Mentions légales"),
    ("Données personnelles", "Données personnelles"),
    ("Plan du site", "Plan du site"),
]


@dataclass
class Data:
    people: scenario.Scenario
    demande_complement: str
    demande_cloturee: str
    demande_echanges: str


def build() -> Data:
    people = scenario.build()
    maryse = TechnicienFactory(
        structure=people.structure,
        identifiant="m.pichon",
        nom_patronymique="PICHON",
        prenom="Maryse",
        email="m.pichon@restosducoeur.example",
    )
    offre = Offre.objects.get(code="rendez-vous")

    def demande(nom: str):
        return demandes_services.create_demande(
            by=maryse,
            convention=people.convention,
            offre=offre,
            data={
                "motif": "c2s",
                "civilite": "MME",
                "nom": nom,
                "prenom": "Jeanne",
                "date_naissance": datetime.date(1950, 3, 12),
                "departement": "33",
                "commentaire": "Madame souhaite un rendez-vous.",
                "consentement": True,
                "urgent": True,
                "categorie_urgence": "ij-non-payees",
            },
        )

    complement = demande("MARTIN")
    demandes_services.prendre_en_charge(by=people.agent, demande=complement)
    demandes_services.demander_complement(
        by=people.agent, demande=complement, message="Merci de joindre l'attestation."
    )
    cloturee = demande("DURAND")
    demandes_services.prendre_en_charge(by=people.agent, demande=cloturee)
    demandes_services.cloturer(
        by=people.agent, demande=cloturee, reponse="Rendez-vous fixé le 3 décembre.", uploads=[]
    )
    # Issue 18: a thread, the agent's last message expecting an answer.
    echanges = demande("BERNARD")
    demandes_services.prendre_en_charge(by=people.agent, demande=echanges)
    demandes_services.ecrire_message(by=maryse, demande=echanges, texte="Elle est joignable.")
    # Issue 19, item 5: a long thread, with a link too long for a phone's line.
    for number in range(1, 7):
        demandes_services.ecrire_message(
            by=people.agent if number % 2 else maryse,
            demande=echanges,
            texte=f"Message {number} : voir https://www.ameli.fr/gironde/assure/droits-"
            "demarches/difficultes-acces-droits-soins/complementaire-sante-solidaire pour la C2S.",
        )
    demandes_services.ecrire_message(
        by=people.agent, demande=echanges, texte="Quel jour lui convient ?", reponse_attendue=True
    )
    # The account history's change lines, a long e-mail address among them (issue 19, item 5).
    services.modify_account(
        by=people.gestionnaire,
        account=User.objects.get(identifiant="v.chausson"),
        data={
            "fonction": "Bénévole accueil",
            "email": "valerie.chausson-accueil-solidarite@restosducoeur-gironde.example",
        },
    )
    # Issue 19, item 6: a technicien invited who has not created their password yet.
    services.create_partner_account(
        by=people.gestionnaire,
        role=Role.TECHNICIEN,
        structure=people.structure,
        organisme=people.gironde,
        data={
            "civilite": "MME",
            "nom_patronymique": "GARNIER",
            "prenom": "Sophie",
            "fonction": "Bénévole",
            "telephone": "06.11.22.33.44",
            "email": "s.garnier@restosducoeur.example",
        },
    )
    # A structure with no technicien yet (empty list), one whose only convention has ended.
    empty = ConventionFactory(organisme=people.gironde, structure=StructureFactory()).structure
    GestionnaireFactory(structure=empty, identifiant="j.durand", email="j.durand@ccas.example")
    ended = ConventionFactory(
        organisme=OrganismeFactory(nom="CPAM OPALE"),
        date_debut=timezone.localdate() - datetime.timedelta(days=400),
        date_fin=timezone.localdate() - datetime.timedelta(days=1),
    ).structure
    GestionnaireFactory(structure=ended, identifiant="a.bernard", email="a.bernard@asso.example")
    # An e-mail the provider refused five times: the agent sees it in the log and resends it.
    SentEmail.objects.create(
        template="conventions/fin_proche",
        recipient=maryse.email,
        account=maryse,
        status=SentEmail.Status.FAILED,
        attempts=5,
        error="AnymailAPIError",
        context={
            "organisme": people.gironde.nom,
            "structure": people.structure.nom,
            "siret": people.structure.siret,
            "reference": people.convention.reference,
            "date_fin": "30 juin 2027",
            "login_url": "http://127.0.0.1:8000/connexion/",
            "prenom_nom": maryse.get_full_name(),
        },
    )
    return Data(people, complement.reference, cloturee.reference, echanges.reference)


def submit(page: Page, name: str) -> None:
    page.get_by_role("main").get_by_role("button", name=name).click()


def walk_public(page: Page, visit: Visit) -> None:
    page.goto("/connexion/")
    visit(page, "connexion")
    submit(page, "Se connecter")
    visit(page, "connexion, champs vides")
    log_in(page, "p.fort", "pas-le-bon")
    visit(page, "connexion, mot de passe erroné")
    page.goto("/mot-de-passe-oublie/")
    visit(page, "mot de passe oublié")
    submit(page, "Recevoir le lien")
    visit(page, "mot de passe oublié, champ vide")
    page.get_by_label(re.compile("Adresse e-mail")).fill("p.fort@restosducoeur.example")
    submit(page, "Recevoir le lien")
    visit(page, "mot de passe oublié, demande envoyée")
    link = re.search(r"https?://\S+/mot-de-passe-oublie/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    visit(page, "lien de l'e-mail : nouveau mot de passe")
    submit(page, "Enregistrer")
    visit(page, "nouveau mot de passe, erreurs")
    page.goto("/identifiant-oublie/")
    visit(page, "identifiant oublié")
    page.goto("/cgu/")
    visit(page, "conditions générales d'utilisation")
    page.goto("/aide/")
    visit(page, "aide")
    # The manual of each role (issue 19, item 7), reached from the index.
    for manual in ("Manuel du gestionnaire partenaire", "Manuel du technicien partenaire"):
        page.goto("/aide/")
        page.get_by_role("main").get_by_role("link", name=manual).first.click()
        heading(page, manual)
        visit(page, manual.lower())
    page.goto("/aide/agent/")
    visit(page, "manuel de l'agent de caisse")
    # The legal pages, reached from the footer (issue 17, item 4).
    for link, title in LEGAL_PAGES:
        page.get_by_role("contentinfo").get_by_role("link", name=link).click()
        heading(page, title)
        visit(page, title.lower())
    page.goto("/cette-page-n-existe-pas/")
    visit(page, "page introuvable (404)")
    page.goto("/connexion/")
    page.get_by_role("link", name=re.compile("Pré-inscription")).click()
    visit(page, "pré-inscription")
    submit(page, "Envoyer la pré-inscription")
    visit(page, "pré-inscription, erreurs")
    page.goto("/connexion/")
    page.get_by_role("link", name="Contact").click()
    visit(page, "contact")
    submit(page, "Envoyer le message")
    visit(page, "contact, erreurs")


def walk_invitation(page: Page, visit: Visit, data: Data) -> None:
    people = data.people
    mail.outbox.clear()
    account = services.create_partner_account(
        by=people.gestionnaire,
        role=Role.TECHNICIEN,
        structure=people.structure,
        organisme=people.gironde,
        data={
            "civilite": "M",
            "nom_patronymique": "LEROY",
            "prenom": "Paul",
            "fonction": "Bénévole",
            "telephone": "06.00.00.00.00",
            "email": "p.leroy@restosducoeur.example",
        },
    )
    link = re.search(r"https?://\S+/invitation/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    visit(page, "lien d'invitation : créer mon mot de passe")
    submit(page, "Enregistrer mon mot de passe")
    visit(page, "créer mon mot de passe, erreurs")
    Invitation.objects.filter(account=account).update(
        created_at=timezone.now() - datetime.timedelta(days=10),
        expires_at=timezone.now() - datetime.timedelta(days=1),
    )
    page.goto(link)
    visit(page, "lien d'invitation expiré")
    submit(page, "Recevoir un nouveau lien")
    visit(page, "nouveau lien envoyé")
    page.goto(link)
    visit(page, "lien d'invitation invalide")


def walk_gestionnaire(page: Page, visit: Visit) -> None:
    log_in(page, "p.fort", TEST_PASSWORD)
    heading(page, "Sélection de l'organisme")
    page.get_by_label("Organisme").select_option("")
    visit(page, "sélection de l'organisme")
    submit(page, "Valider")
    visit(page, "sélection de l'organisme, sans choix")
    page.get_by_label("Organisme").select_option(label="CPAM LOT ET GARONNE *")
    submit(page, "Valider")
    visit(page, "convention se terminant bientôt")
    submit(page, "Continuer")
    visit(page, "accueil du gestionnaire")
    menu(page, "Gestion des comptes")
    visit(page, "gestion des comptes")
    page.locator("li.account", has_text="v.chausson").get_by_role("switch").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    visit(page, "gestion des comptes, dialogue d'inactivation")
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Ajouter un technicien").click()
    visit(page, "ajouter un technicien")
    submit(page, "Valider")
    visit(page, "ajouter un technicien, erreurs")
    page.get_by_label("Adresse e-mail").fill("pas-une-adresse")
    page.get_by_label("Téléphone").fill("12")
    submit(page, "Valider")
    visit(page, "ajouter un technicien, valeurs invalides")
    menu(page, "Gestion des comptes")
    page.locator("li.account", has_text="v.chausson").get_by_role("link", name="Modifier").click()
    visit(page, "modifier un technicien")
    menu(page, "Gestion des comptes")
    page.locator("li.account", has_text="v.chausson").get_by_role("link", name="Historique").click()
    visit(page, "historique d'un compte")
    menu(page, "Gestion des comptes")
    page.locator("li.account", has_text="v.chausson").get_by_role("switch").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.get_by_role("dialog").get_by_role("button", name="OUI").click()
    # Reactivation in the dialog, both steps of manual 000 §IV-2.3 (issue 19, item 4).
    page.locator("li.account", has_text="v.chausson").get_by_role("switch").click()
    expect(page.get_by_role("dialog")).to_contain_text("réactiver ce compte")
    visit(page, "gestion des comptes, dialogue de réactivation")
    page.get_by_role("dialog").get_by_role("button", name="OUI").click()
    expect(page.get_by_role("dialog").get_by_role("button", name="VALIDER")).to_be_visible()
    visit(page, "gestion des comptes, dialogue de réactivation, motif")
    page.get_by_role("dialog").get_by_role("button", name="VALIDER").click()
    heading(page, "Réactiver un compte")
    visit(page, "réactiver un compte, motif manquant (depuis le dialogue)")
    page.get_by_label("Préciser le motif de réactivation").fill("Retour de congé")
    submit(page, "VALIDER")
    heading(page, "Gestion des comptes")
    # The history again, longer now (inactivated, reactivated): still within a phone's width.
    page.locator("li.account", has_text="v.chausson").get_by_role("link", name="Historique").click()
    visit(page, "historique d'un compte, après une inactivation et une réactivation")
    menu(page, "Demandes de la structure")
    visit(page, "demandes de la structure")
    menu(page, "Ma structure")
    visit(page, "ma structure")
    page.get_by_label(re.compile(r"^Téléphone")).fill("12")
    submit(page, "Enregistrer les coordonnées")
    visit(page, "ma structure, erreurs")
    page.locator(".person-card summary").click()
    visit(page, "carte de la personne, ouverte")
    page.get_by_role("link", name="Changer mon mot de passe").click()
    visit(page, "changer mon mot de passe")
    submit(page, "Enregistrer")
    visit(page, "changer mon mot de passe, erreurs")


def walk_confirmation_pages(page: Page, visit: Visit) -> None:
    """The confirmation pages that replace the dialogs when JavaScript is off, reached at the
    address of the switch's form (axe-core needs JavaScript to run)."""
    log_in(page, "p.fort", TEST_PASSWORD)
    page.get_by_label("Organisme").select_option(label="CPAM GIRONDE")
    submit(page, "Valider")

    def open_switch_page() -> None:
        menu(page, "Gestion des comptes")
        account = page.locator("li.account", has_text="v.chausson")
        page.goto(account.locator("form:has([role=switch])").get_attribute("action"))

    open_switch_page()
    visit(page, "inactiver un compte, page de confirmation")
    submit(page, "OUI")
    open_switch_page()
    visit(page, "réactiver un compte, page de confirmation")
    submit(page, "OUI")
    visit(page, "réactiver un compte, page du motif")
    submit(page, "VALIDER")
    visit(page, "réactiver un compte, motif manquant")


def walk_gestionnaire_with_demandes(page: Page, visit: Visit) -> None:
    """The gestionnaire with CPAM GIRONDE, where the structure has demandes and a technicien
    has not accepted their invitation yet (issue 19, items 5 and 6)."""
    log_in(page, "p.fort", TEST_PASSWORD)
    page.get_by_label("Organisme").select_option(label="CPAM GIRONDE")
    submit(page, "Valider")
    visit(page, "accueil du gestionnaire, une invitation en attente")
    page.get_by_role("main").get_by_role("button", name=re.compile("Renvoyer l'invitation")).click()
    visit(page, "accueil du gestionnaire, invitation renvoyée")
    page.goto("/demandes/")
    visit(page, "demandes de la structure, avec des demandes")
    page.locator("table.demandes tbody a").first.click()
    visit(page, "demandes de la structure, une demande")
    page.goto("/comptes/revue-des-habilitations/")
    visit(page, "revue des habilitations")


def walk_other_gestionnaires(page: Page, visit: Visit) -> None:
    log_in(page, "j.durand", TEST_PASSWORD)
    menu(page, "Gestion des comptes")
    visit(page, "gestion des comptes, liste vide")
    menu(page, "Demandes de la structure")
    visit(page, "demandes, liste vide")
    page.context.clear_cookies()
    log_in(page, "a.bernard", TEST_PASSWORD)
    visit(page, "aucun organisme accessible")


def walk_technicien(page: Page, visit: Visit, data: Data) -> None:
    log_in(page, "m.pichon", TEST_PASSWORD)
    page.get_by_label("Organisme").select_option(label="CPAM GIRONDE")
    submit(page, "Valider")
    visit(page, "accueil du technicien")
    menu(page, "Nouvelle demande")
    visit(page, "choix de l'offre")
    page.get_by_role("link", name="Demander un rendez-vous pour un assuré").click()
    visit(page, "formulaire de demande")
    submit(page, "Envoyer la demande")
    visit(page, "formulaire de demande, erreurs")
    menu(page, "Mes demandes")
    visit(page, "mes demandes")
    page.get_by_label("Statut").select_option(Statut.CLOTUREE)
    submit(page, "Filtrer")
    visit(page, "mes demandes, filtrées")
    menu(page, "Mes demandes")
    page.get_by_role("link", name=data.demande_complement).click()
    visit(page, "demande, complément demandé")
    submit(page, "Envoyer le complément")
    visit(page, "demande, complément vide")
    menu(page, "Mes demandes")
    page.get_by_role("link", name=data.demande_cloturee).click()
    visit(page, "demande clôturée, avec la réponse")
    menu(page, "Mes demandes")
    page.get_by_role("link", name=data.demande_echanges).click()
    visit(page, "demande, échanges en attente de votre réponse")
    submit(page, "Envoyer le message")
    visit(page, "demande, message vide")
    page.goto("/comptes/")
    heading(page, "Accès refusé")
    visit(page, "page interdite (403) : gestion des comptes, pour un technicien")


def walk_agent(page: Page, visit: Visit, data: Data) -> None:
    """The agent de caisse's pages of the admin, as the agent reaches them."""
    people = data.people
    page.goto("/admin/login/")
    visit(page, "administration : connexion")
    log_in(page, "agent.gironde", TEST_PASSWORD)
    heading(page, "Confirmez votre connexion")
    visit(page, "administration : second facteur")
    give_app_code(page, "agent.gironde")
    page.goto("/admin/")
    visit(page, "administration : accueil")
    # Issue 19, item 6: the queue's counts lead to the list so filtered.
    page.get_by_role("link", name=re.compile("la réponse du partenaire")).click()
    visit(page, "administration : demandes en attente du partenaire")
    page.get_by_role("link", name="Mes notifications").click()
    visit(page, "administration : mes notifications")
    page.goto("/admin/")
    page.locator("tr.model-demande").get_by_role("link", name="Demandes").click()
    visit(page, "administration : demandes")
    page.get_by_role("link", name=data.demande_complement).click()
    visit(page, "administration : une demande")
    page.get_by_role("button", name="Clôturer").click()
    visit(page, "administration : clôturer")
    page.get_by_role("button", name="Clôturer la demande").click()
    visit(page, "administration : clôturer, réponse manquante")
    page.goto("/admin/demandes/demande/")
    page.get_by_role("link", name=data.demande_complement).click()
    page.get_by_role("button", name="Envoyer le message").click()
    visit(page, "administration : message vide")
    page.goto("/admin/demandes/demande/")
    page.get_by_role("link", name=data.demande_complement).click()
    page.get_by_role("button", name="Attribuer…").click()
    visit(page, "administration : attribuer une demande")
    page.get_by_role("link", name="Demandes à traiter").click()
    visit(page, "administration : demandes à traiter")
    page.get_by_role("link", name="Mes demandes").click()
    visit(page, "administration : mes demandes")
    page.goto("/admin/demandes/demande/")
    page.locator("#result_list input.action-select").first.check()
    page.locator("select[name=action]").select_option("attribuer_selection")
    page.locator("button[name=index]").click()
    visit(page, "administration : attribuer les demandes sélectionnées")
    page.get_by_role("button", name="Attribuer").click()
    expect(page.get_by_text("Résultat, demande par demande")).to_be_visible()
    visit(page, "administration : résultat d'une action groupée")
    page.goto("/admin/accounts/partneraccount/add/")
    visit(page, "administration : nouveau gestionnaire (recherche de la structure)")
    page.goto("/admin/conventions/convention/add/")
    visit(page, "administration : nouvelle convention (recherche de la structure)")
    page.goto("/admin/demandes/demande/indicateurs/")
    page.get_by_label(re.compile("^Convention")).select_option(str(people.convention.pk))
    page.get_by_role("button", name=re.compile(".")).last.click()
    visit(page, "administration : indicateurs")
    page.goto("/admin/")
    page.locator("tr.model-partneraccount").get_by_role("link").first.click()
    visit(page, "administration : comptes partenaires")
    page.locator("#result_list").get_by_role("link", name=re.compile("FORT", re.I)).click()
    visit(page, "administration : un compte partenaire")
    page.goto("/admin/")
    page.locator("tr.model-structurepartenaire").get_by_role("link").first.click()
    visit(page, "administration : structures")
    page.goto("/admin/")
    page.locator("tr.model-convention").get_by_role("link").first.click()
    visit(page, "administration : conventions")
    page.get_by_role("link", name=people.convention.reference).click()
    visit(page, "administration : une convention")
    page.goto("/admin/")
    page.locator("tr.model-preinscription").get_by_role("link").first.click()
    visit(page, "administration : pré-inscriptions")
    page.goto("/admin/")
    page.locator("tr.model-sentemail").get_by_role("link").first.click()
    visit(page, "administration : e-mails envoyés")
    page.get_by_role("link", name="échec", exact=True).click()
    visit(page, "administration : e-mails en échec")
    page.locator("#result_list input.action-select").first.check()
    page.locator("select[name=action]").select_option("renvoyer")
    page.locator("button[name=index]").click()
    expect(page.get_by_text("1 e-mail est renvoyé.")).to_be_visible()
    visit(page, "administration : e-mail renvoyé")
