from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.changes import change_lines
from core.fields import TelephoneField
from core.nir import validate_no_nir

from .validators import validate_code_postal, validate_siret


class Organisme(models.Model):
    """An organisme d'assurance maladie (a CPAM), which signs conventions with partners."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    nom = models.CharField(_("nom"), max_length=100, validators=[validate_no_nir])
    email_referent = models.EmailField(
        _("e-mail du référent"),
        help_text=_("Reçoit les alertes de fin de convention de ses partenaires."),
    )
    delai_purge_mois = models.PositiveSmallIntegerField(
        _("délai de purge (mois)"),
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text=_("Les comptes inactifs depuis plus longtemps sont supprimés."),
    )
    delai_conservation_demandes_mois = models.PositiveSmallIntegerField(
        _("délai de conservation des demandes (mois)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_(
            "Compté après leur clôture : passé ce délai, l'identité de l'assuré, les textes et "
            "les pièces jointes des demandes sont effacés ; les indicateurs restent."
        ),
    )

    # Issue 18, item 6: the target delays of the fund's work queue, in working days since sent.
    delai_cible_urgent_jours = models.PositiveSmallIntegerField(
        _("délai cible des demandes urgentes (jours ouvrés)"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("Passé ce délai, une demande urgente non clôturée est « en retard »."),
    )
    delai_cible_jours = models.PositiveSmallIntegerField(
        _("délai cible des autres demandes (jours ouvrés)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("Passé ce délai, une demande non clôturée est « en retard »."),
    )

    class Meta:
        verbose_name = _("organisme d'assurance maladie")
        verbose_name_plural = _("organismes d'assurance maladie")
        ordering = ["nom"]
        constraints = [
            models.CheckConstraint(
                condition=Q(delai_purge_mois__gte=1, delai_purge_mois__lte=24),
                name="organisme_delai_purge_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    delai_conservation_demandes_mois__gte=1,
                    delai_conservation_demandes_mois__lte=120,
                ),
                name="organisme_delai_conservation_demandes_range",
            ),
            models.CheckConstraint(
                condition=Q(delai_cible_urgent_jours__gte=1, delai_cible_urgent_jours__lte=30),
                name="organisme_delai_cible_urgent_range",
            ),
            models.CheckConstraint(
                condition=Q(delai_cible_jours__gte=1, delai_cible_jours__lte=90),
                name="organisme_delai_cible_range",
            ),
        ]

    def __str__(self) -> str:
        return self.nom


class StructureEvent(models.Model):
    """What happened to a structure as a whole, without personal data (SPEC §6)."""

    class Kind(models.TextChoices):
        CONVENTION_ENDED = "convention_ended", _("fin de convention : comptes inactivés")
        ACCOUNTS_PURGED = "accounts_purged", _("comptes inactifs supprimés")
        PREINSCRIPTION_VALIDATED = (
            "preinscription_validated",
            _("pré-inscription validée : premier gestionnaire créé"),
        )
        COORDONNEES_MODIFIED = "coordonnees_modified", _("coordonnées modifiées")

    structure = models.ForeignKey(
        "StructurePartenaire", on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("événement"), max_length=30, choices=Kind.choices)
    at = models.DateTimeField(_("date"), default=timezone.now)
    details = models.JSONField(_("détails"), default=dict, blank=True)
    by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )

    class Meta:
        verbose_name = _("événement de structure")
        verbose_name_plural = _("historique des structures")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["structure", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.structure}"

    @property
    def change_lines(self) -> list[tuple[str, str, str]]:
        return change_lines(self.details.get("changes", {}), StructurePartenaire)


class StructurePartenaire(models.Model):
    """A partner structure (CCAS, association, département site, tutelle…)."""

    nom = models.CharField(_("nom"), max_length=150, validators=[validate_no_nir])
    siret = models.CharField(
        _("SIRET"),
        max_length=14,
        unique=True,
        validators=[validate_siret],
        error_messages={"unique": _("Une structure avec ce SIRET existe déjà.")},
    )
    adresse = models.CharField(_("adresse"), max_length=200, validators=[validate_no_nir])
    code_postal = models.CharField(
        _("code postal"), max_length=5, validators=[validate_code_postal]
    )
    ville = models.CharField(_("ville"), max_length=100, validators=[validate_no_nir])
    telephone = TelephoneField(_("téléphone"))
    nombre_membres = models.PositiveIntegerField(
        _("nombre de membres"),
        validators=[MinValueValidator(1)],
        help_text=_("Sert à proposer les quotas de comptes des conventions."),
    )
    suspended_at = models.DateTimeField(
        _("accès suspendu le"),
        null=True,
        blank=True,
        help_text=_("Tant que l'accès est suspendu, aucun compte de la structure ne se connecte."),
    )
    motif_suspension = models.TextField(
        _("motif de la suspension"), blank=True, validators=[validate_no_nir]
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("structure partenaire")
        verbose_name_plural = _("structures partenaires")
        ordering = ["nom"]
        constraints = [
            models.CheckConstraint(
                condition=Q(siret__regex=r"^[0-9]{14}$"), name="structure_siret_14_digits"
            ),
            models.CheckConstraint(
                condition=Q(nombre_membres__gte=1), name="structure_nombre_membres_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.nom

    @property
    def is_suspendue(self) -> bool:
        return self.suspended_at is not None

    def active_gestionnaires(self):
        return self.comptes.gestionnaires().active()

    def techniciens(self):
        return self.comptes.techniciens()

    def active_techniciens(self):
        return self.techniciens().active()
