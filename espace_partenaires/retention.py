"""The register of processing (issue 17, item 4): each kind of personal data the portal keeps, why,
on which legal basis, for how long, and what deletes it, with the delays read from the settings
and the organismes in force. One function, `retention_delays()`, read by the page « Données
personnelles » and quoted in docs/data-protection.md (a test checks that the document names every
row and its job).

To add an entry: write a function `(organismes) -> Retention` and list it in ENTRIES (one line).
`organismes` holds every column of every organisme, read once for the page, so that a delay per
organisme costs no query.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.jobs.purges import DEFAULT_PURGE_DELAY_MONTHS, EXPIRED_INVITATION_RETENTION
from organismes.models import Organisme

MISSION = "mission"
SECURITY = "security"


@dataclass(frozen=True)
class Retention:
    data: str  # what is kept, in the words of the page
    purpose: str
    legal_basis: str
    delay: str  # how long, with the values in force
    enforced_by: str  # what deletes it, and when
    job: str = ""  # the management command of the job that deletes it, if one does


def legal_basis(kind: str) -> str:
    if kind == SECURITY:
        return _(
            "Mission d'intérêt public (RGPD, article 6-1-e) et obligation de sécurité du "
            "traitement (RGPD, article 32)"
        )
    return _("Mission d'intérêt public (RGPD, article 6-1-e)")


def nightly(job: str, time_setting: str) -> dict[str, str]:
    """The fields of an entry deleted by a nightly job: its command, and when it runs."""
    enforced_by = _("Tâche %(job)s, chaque nuit à %(time)s") % {
        "job": job,
        "time": getattr(settings, time_setting),
    }
    return {"job": job, "enforced_by": enforced_by}


def months(count: int) -> str:
    return ngettext("%(count)d mois", "%(count)d mois", count) % {"count": count}


def per_organisme(
    organismes: list[dict[str, Any]], field: str, default: int, *, counted_from: str
) -> str:
    """The delay of each organisme, in months: the default with the number of organismes that
    keep it, then each other delay with the organismes that chose it, by name."""
    names: dict[int, list[str]] = {}
    for organisme in organismes:
        names.setdefault(organisme[field], []).append(organisme["nom"])
    at_default = len(names.pop(default, []))
    text = _("%(delay)s %(counted_from)s (délai par défaut") % {
        "delay": months(default),
        "counted_from": counted_from,
    }
    if at_default:
        text += ngettext(
            ", celui de %(count)d organisme", ", celui de %(count)d organismes", at_default
        ) % {"count": at_default}
    text += ")"
    for delay in sorted(names):
        text += _(" ; %(delay)s pour %(names)s") % {
            "delay": months(delay),
            "names": ", ".join(names[delay]),
        }
    return text


# --- The entries ----------------------------------------------------------------------------


def partner_accounts(organismes) -> Retention:
    delay = per_organisme(
        organismes,
        "delai_purge_mois",
        DEFAULT_PURGE_DELAY_MONTHS,
        counted_from=_("après l'inactivation du compte"),
    )
    return Retention(
        data=_("Comptes des partenaires"),
        purpose=_(
            "Identifier les gestionnaires et techniciens des structures partenaires, gérer leurs "
            "habilitations et l'historique de leur compte"
        ),
        legal_basis=legal_basis(MISSION),
        delay=delay
        + " ; "
        + _(
            "pour une structure liée à plusieurs organismes, le plus court s'applique. Un compte "
            "actif est conservé tant qu'il l'est."
        ),
        **nightly("purge_inactive_accounts", "JOB_TIME_PURGE_ACCOUNTS"),
    )


def staff_accounts(organismes) -> Retention:
    return Retention(
        data=_("Comptes des agents de caisse"),
        purpose=_("Traiter les demandes des partenaires dans l'administration"),
        legal_basis=legal_basis(MISSION),
        delay=_("Tant que l'agent en a besoin pour ses fonctions"),
        enforced_by=_("Suppression par un administrateur national, dans l'administration"),
    )


def invitations(organismes) -> Retention:
    return Retention(
        data=_("Liens d'invitation"),
        purpose=_("Permettre à la personne invitée de créer son mot de passe"),
        legal_basis=legal_basis(MISSION),
        delay=_("Valables %(hours)d heures ; supprimés %(days)d jours après leur expiration")
        % {
            "hours": settings.INVITATION_TIMEOUT_HOURS,
            "days": EXPIRED_INVITATION_RETENTION.days,
        },
        **nightly("purge_expired_invitations", "JOB_TIME_PURGE_INVITATIONS"),
    )


def sessions(organismes) -> Retention:
    return Retention(
        data=_("Sessions"),
        purpose=_("Garder la personne connectée entre deux pages"),
        legal_basis=legal_basis(SECURITY),
        delay=_("Fin après %(minutes)d minutes d'inactivité, puis suppression la nuit suivante")
        % {"minutes": settings.SESSION_COOKIE_AGE // 60},
        **nightly("purge_expired_sessions", "JOB_TIME_PURGE_SESSIONS"),
    )


def login_attempts(organismes) -> Retention:
    return Retention(
        data=_("Tentatives de connexion échouées"),
        purpose=_(
            "Bloquer un identifiant après %(count)d échecs (identifiant, adresse IP, navigateur)"
        )
        % {"count": settings.AXES_FAILURE_LIMIT},
        legal_basis=legal_basis(SECURITY),
        delay=_("%(minutes)d minutes après le dernier échec, ou dès la connexion réussie")
        % {"minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)},
        # django-axes deletes every expired attempt at each log-in, failure and log-out.
        enforced_by=_("django-axes, à la connexion ou tentative de connexion suivante"),
    )


def email_log(organismes) -> Retention:
    return Retention(
        data=_("Journal des e-mails envoyés"),
        purpose=_(
            "Prouver l'envoi des invitations et avis, renvoyer un e-mail en échec "
            "(destinataire, modèle, état)"
        ),
        legal_basis=legal_basis(MISSION),
        delay=_("%(delay)s après l'envoi") % {"delay": months(settings.EMAIL_LOG_RETENTION_MONTHS)},
        **nightly("purge_sent_email_log", "JOB_TIME_PURGE_EMAIL_LOG"),
    )


def inscriptions(organismes) -> Retention:
    return Retention(
        data=_("Pré-inscriptions et messages de contact"),
        purpose=_(
            "Instruire la pré-inscription d'une structure, répondre à un message "
            "(nom, e-mail, téléphone, message)"
        ),
        legal_basis=legal_basis(MISSION),
        delay=_(
            "%(delay)s après la décision de l'organisme (pré-inscription restée sans réponse, "
            "message de contact : après leur réception)"
        )
        % {"delay": months(settings.INSCRIPTION_RETENTION_MONTHS)},
        **nightly("purge_inscriptions", "JOB_TIME_PURGE_INSCRIPTIONS"),
    )


def demandes(organismes) -> Retention:
    delay = per_organisme(
        organismes,
        "delai_conservation_demandes_mois",
        Organisme._meta.get_field("delai_conservation_demandes_mois").default,
        counted_from=_("après leur clôture"),
    )
    return Retention(
        data=_("Demandes pour les assurés"),
        purpose=_(
            "Traiter les demandes d'offres de service des partenaires pour des assurés (identité "
            "de l'assuré, motif, urgence, échanges, notes internes de l'organisme, pièces jointes) "
            "et en tenir les indicateurs"
        ),
        legal_basis=legal_basis(MISSION),
        delay=delay
        + " ; "
        + _(
            "l'identité de l'assuré, les textes et les pièces jointes sont alors effacés ; "
            "l'offre, le motif, les dates, le statut et l'urgence restent pour les indicateurs. "
            "Une demande jamais clôturée est conservée."
        ),
        **nightly("anonymise_closed_demandes", "JOB_TIME_ANONYMISE_DEMANDES"),
    )


def access_log(organismes) -> Retention:
    return Retention(
        data=_("Journal des accès des agents"),
        purpose=_(
            "Savoir quel agent ou administrateur a consulté quelle demande, téléchargé quel "
            "document ou exporté quoi (compte, action, objet, date, adresse IP)"
        ),
        legal_basis=legal_basis(SECURITY),
        delay=months(settings.ACCESS_LOG_RETENTION_MONTHS),
        **nightly("purge_access_log", "JOB_TIME_PURGE_ACCESS_LOG"),
    )


def admin_history(organismes) -> Retention:
    return Retention(
        data=_("Historique des modifications de l'administration"),
        purpose=_(
            "Savoir qui a modifié quoi et quand (structures, conventions, suspensions, comptes, "
            "organismes), avec les valeurs avant et après"
        ),
        legal_basis=legal_basis(SECURITY),
        delay=_(
            "Conservé tant que l'objet existe ; quand un compte est supprimé, les lignes qui le "
            "concernent perdent ses données (« compte supprimé »)"
        ),
        job="purge_inactive_accounts",
        enforced_by=_("Tâche purge_inactive_accounts, avec les comptes qu'elle supprime"),
    )


def dormant_accounts(organismes) -> Retention:
    return Retention(
        data=_("Comptes inutilisés des partenaires"),
        purpose=_("Retirer les habilitations que personne n'utilise plus"),
        legal_basis=legal_basis(SECURITY),
        delay=_(
            "Après %(delay)s sans connexion (ou depuis la création ou la dernière invitation), un "
            "e-mail avertit la personne ; sans connexion dans les %(days)d jours qui suivent, le "
            "compte est inactivé (jamais le dernier gestionnaire actif d'une structure : "
            "l'organisme est prévenu), puis supprimé comme tout compte inactif"
        )
        % {"delay": months(settings.DORMANT_ACCOUNT_MONTHS), "days": settings.DORMANT_NOTICE_DAYS},
        job="inactivate_dormant_accounts",
        enforced_by=_(
            "Tâches warn_dormant_accounts (chaque jour à %(warning)s) et "
            "inactivate_dormant_accounts (chaque nuit à %(inactivation)s)"
        )
        % {
            "warning": settings.JOB_TIME_DORMANT_WARNING,
            "inactivation": settings.JOB_TIME_DORMANT_INACTIVATION,
        },
    )


def habilitation_reviews(organismes) -> Retention:
    return Retention(
        data=_("Revues des habilitations"),
        purpose=_(
            "Vérifier que chaque technicien habilité en a encore besoin (date, gestionnaire "
            "auteur, nombres de comptes confirmés et inactivés)"
        ),
        legal_basis=legal_basis(SECURITY),
        delay=_(
            "Une revue demandée aux gestionnaires tous les %(delay)s ; les revues sont conservées "
            "avec la structure, leur auteur effacé (« compte supprimé ») quand son compte l'est"
        )
        % {"delay": months(settings.HABILITATION_REVIEW_MONTHS)},
        job="request_habilitation_reviews",
        enforced_by=_(
            "Demande : tâche request_habilitation_reviews (chaque jour à %(time)s) ; suppression "
            "avec la structure"
        )
        % {"time": settings.JOB_TIME_HABILITATION_REVIEWS},
    )


ENTRIES: list[Callable[[list[dict[str, Any]]], Retention]] = [
    partner_accounts,
    staff_accounts,
    invitations,
    sessions,
    login_attempts,
    email_log,
    inscriptions,
    demandes,
    access_log,
    admin_history,
    dormant_accounts,
    habilitation_reviews,
]


def retention_delays() -> list[Retention]:
    """The register's rows, with the delays in force now: one query (the organismes)."""
    organismes = list(Organisme.objects.order_by("nom").values())
    return [entry(organismes) for entry in ENTRIES]
