"""What reaches the fund from the public pages (SPEC §8): pré-inscriptions and contact messages.

Nothing here grants anything: a pré-inscription is a request that an agent of its organisme
validates (which creates the gestionnaire through accounts.services) or refuses with a reason.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Civilite
from core.fields import LowerEmailField, NomField, PrenomField, TelephoneField
from core.nir import validate_no_nir
from core.validators import FONCTION_MAX_LENGTH
from organismes.validators import validate_code_postal, validate_siret

MESSAGE_MAX_LENGTH = 4000


class Statut(models.TextChoices):
    EN_ATTENTE = "en_attente", _("en attente")
    VALIDEE = "validee", _("validée")
    REFUSEE = "refusee", _("refusée")


class PreInscription(models.Model):
    """A structure's request to join the portal with the convention reference its fund gave."""

    organisme = models.ForeignKey(
        "organismes.Organisme",
        on_delete=models.PROTECT,
        related_name="preinscriptions",
        verbose_name=_("organisme d'assurance maladie"),
    )
    reference_convention = models.CharField(
        _("référence de la convention"),
        max_length=50,
        help_text=_("Telle que votre organisme d'assurance maladie vous l'a communiquée."),
        validators=[validate_no_nir],
    )
    # The convention the reference designated when the request was made.
    convention = models.ForeignKey(
        "conventions.Convention",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="preinscriptions",
        verbose_name=_("convention"),
    )

    # The structure, as the applicant typed it
    structure_nom = models.CharField(
        _("nom de la structure"), max_length=150, validators=[validate_no_nir]
    )
    siret = models.CharField(
        _("SIRET"),
        max_length=14,
        validators=[validate_siret],
        help_text=_("14 chiffres."),
    )
    adresse = models.CharField(_("adresse"), max_length=200, validators=[validate_no_nir])
    code_postal = models.CharField(
        _("code postal"), max_length=5, validators=[validate_code_postal]
    )
    ville = models.CharField(_("ville"), max_length=100, validators=[validate_no_nir])
    structure_telephone = TelephoneField(_("téléphone de la structure"))

    # The first gestionnaire (SPEC §3 rules, through the same fields as accounts)
    civilite = models.CharField(_("civilité"), max_length=3, choices=Civilite.choices)
    nom_patronymique = NomField(_("nom patronymique"), blank=True)
    nom_usuel = NomField(_("nom usuel"), blank=True)
    prenom = PrenomField(_("prénom"))
    fonction = models.CharField(
        _("fonction"), max_length=FONCTION_MAX_LENGTH, validators=[validate_no_nir]
    )
    telephone = TelephoneField(_("téléphone"))
    email = LowerEmailField(_("adresse e-mail"))

    cgu_version = models.CharField(_("version des CGU acceptée"), max_length=20)
    created_at = models.DateTimeField(_("reçue le"), auto_now_add=True)

    statut = models.CharField(
        _("statut"), max_length=12, choices=Statut.choices, default=Statut.EN_ATTENTE
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("décidée par"),
    )
    decided_at = models.DateTimeField(_("décidée le"), null=True, blank=True)
    motif_refus = models.TextField(
        _("motif du refus"), blank=True, max_length=5000, validators=[validate_no_nir]
    )
    structure = models.ForeignKey(
        "organismes.StructurePartenaire",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="preinscriptions",
        verbose_name=_("structure rattachée"),
    )
    gestionnaire = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("compte gestionnaire créé"),
    )

    class Meta:
        verbose_name = _("pré-inscription")
        verbose_name_plural = _("pré-inscriptions")
        ordering = ["created_at", "pk"]
        constraints = [
            # A convention is claimed once: the lock in services.validate makes it so, this
            # index makes sure of it.
            models.UniqueConstraint(
                fields=["convention"],
                condition=Q(statut="validee"),
                name="preinscription_one_validated_per_convention",
            ),
            models.CheckConstraint(
                condition=~Q(nom_patronymique="", nom_usuel=""),
                name="preinscription_one_nom_at_least",
            ),
        ]
        indexes = [models.Index(fields=["organisme", "statut", "created_at"])]

    def __str__(self) -> str:
        return f"{self.structure_nom} ({self.reference_convention})"

    @property
    def nom(self) -> str:
        return self.nom_usuel or self.nom_patronymique

    @property
    def gestionnaire_display(self) -> str:
        return f"{self.get_civilite_display()} {self.nom} {self.prenom}"

    @property
    def siret_differs(self) -> bool:
        """The typed SIRET is not the one of the convention's structure: the agent decides."""
        convention = self.convention
        return convention is not None and convention.structure.siret != self.siret

    @property
    def is_en_attente(self) -> bool:
        return self.statut == Statut.EN_ATTENTE

    def gestionnaire_data(self) -> dict:
        """The person's details, as accounts.services.create_partner_account takes them."""
        from accounts.services import EDITABLE_FIELDS

        return {name: getattr(self, name) for name in EDITABLE_FIELDS}


class MessageContact(models.Model):
    """A message of the public contact page, routed to the referent of the chosen organisme."""

    class Motif(models.TextChoices):
        # The subjects of the PPAS contact page (seed 002), in this portal's words.
        NAVIGATION = "navigation", _("Problème de navigation, d'affichage")
        ACCES = "acces", _("Problème d'accès à votre espace (identifiant, mot de passe)")
        INSCRIPTION = "inscription", _("Pré-inscription de votre structure")
        PARTENARIAT = "partenariat", _("Demande d'information sur le partenariat")
        SUGGESTION = "suggestion", _("Suggestions, remarques")
        AUTRE = "autre", _("Autre question")

    organisme = models.ForeignKey(
        "organismes.Organisme",
        on_delete=models.PROTECT,
        related_name="messages_contact",
        verbose_name=_("organisme d'assurance maladie"),
    )
    motif = models.CharField(_("objet"), max_length=20, choices=Motif.choices)
    nom = models.CharField(_("nom et prénom"), max_length=100, validators=[validate_no_nir])
    email = LowerEmailField(_("adresse e-mail"))
    reference_convention = models.CharField(
        _("référence de la convention"), max_length=50, blank=True, validators=[validate_no_nir]
    )
    message = models.TextField(
        _("message"), max_length=MESSAGE_MAX_LENGTH, validators=[validate_no_nir]
    )
    created_at = models.DateTimeField(_("reçu le"), auto_now_add=True)

    class Meta:
        verbose_name = _("message de contact")
        verbose_name_plural = _("messages de contact")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organisme", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_motif_display()} — {self.nom}"
