import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.nir import validate_no_nir

MAX_GESTIONNAIRES = 5
MAX_TECHNICIENS = 25


def default_quotas(nombre_membres: int) -> tuple[int, int]:
    """(gestionnaires, techniciens) suggested by the size of the structure (SPEC §2)."""
    if nombre_membres <= 10:
        return 2, 5
    if nombre_membres <= 25:
        return 3, 15
    return 5, 25


class Offre(models.Model):
    """An offer of service (SPEC §5) that a convention may activate."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    libelle = models.CharField(_("libellé"), max_length=150, validators=[validate_no_nir])
    ordre = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("offre de service")
        verbose_name_plural = _("offres de service")
        ordering = ["ordre"]

    def __str__(self) -> str:
        return self.libelle


class ConventionQuerySet(models.QuerySet):
    def en_cours(self, today: datetime.date | None = None) -> "ConventionQuerySet":
        today = today or timezone.localdate()
        return self.filter(Q(date_fin__isnull=True) | Q(date_fin__gte=today), date_debut__lte=today)

    def a_venir(self, today: datetime.date | None = None) -> "ConventionQuerySet":
        return self.filter(date_debut__gt=today or timezone.localdate())

    def terminees(self, today: datetime.date | None = None) -> "ConventionQuerySet":
        return self.filter(date_fin__lt=today or timezone.localdate())

    def en_cours_ou_a_venir(self, today: datetime.date | None = None) -> "ConventionQuerySet":
        """The conventions that grant something: not ended yet."""
        today = today or timezone.localdate()
        return self.filter(Q(date_fin__isnull=True) | Q(date_fin__gte=today))


class Convention(models.Model):
    class Etat(models.TextChoices):
        A_VENIR = "a_venir", _("à venir")
        EN_COURS = "en_cours", _("en cours")
        TERMINEE = "terminee", _("terminée")

    organisme = models.ForeignKey(
        "organismes.Organisme",
        on_delete=models.PROTECT,
        related_name="conventions",
        verbose_name=_("organisme"),
    )
    structure = models.ForeignKey(
        "organismes.StructurePartenaire",
        on_delete=models.PROTECT,
        related_name="conventions",
        verbose_name=_("structure partenaire"),
    )
    reference = models.CharField(_("référence"), max_length=50, validators=[validate_no_nir])
    date_debut = models.DateField(_("date de début"))
    date_fin = models.DateField(
        _("date de fin"), null=True, blank=True, help_text=_("Laisser vide : sans fin prévue.")
    )
    max_gestionnaires = models.PositiveSmallIntegerField(
        _("nombre maximum de gestionnaires actifs"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_GESTIONNAIRES)],
    )
    max_techniciens = models.PositiveSmallIntegerField(
        _("nombre maximum de techniciens actifs"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TECHNICIENS)],
    )
    offres = models.ManyToManyField(
        Offre, blank=True, related_name="conventions", verbose_name=_("offres de service activées")
    )
    contact_reserve_aux_gestionnaires = models.BooleanField(
        _("« Contacter votre organisme » réservé aux gestionnaires"), default=False
    )
    habilitee = models.BooleanField(
        _("habilitée à recevoir des documents"),
        default=False,
        help_text=_("Le partenaire peut recevoir les documents sortants de l'organisme."),
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    # The end date the 30-day warning was sent for: once per end date, again if it moves.
    end_warning_sent_for = models.DateField(
        _("alerte de fin envoyée pour le"), null=True, blank=True, editable=False
    )
    # Set by the end-of-convention job once it has dealt with this ended convention.
    end_processed_at = models.DateTimeField(
        _("fin traitée le"), null=True, blank=True, editable=False
    )

    objects = ConventionQuerySet.as_manager()

    class Meta:
        verbose_name = _("convention")
        verbose_name_plural = _("conventions")
        ordering = ["-date_debut"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisme", "reference"],
                name="convention_reference_unique_per_organisme",
                violation_error_message=_(
                    "Cette référence de convention existe déjà pour cet organisme."
                ),
            ),
            models.CheckConstraint(
                condition=Q(max_gestionnaires__gte=1, max_gestionnaires__lte=MAX_GESTIONNAIRES),
                name="convention_max_gestionnaires_range",
            ),
            models.CheckConstraint(
                condition=Q(max_techniciens__gte=1, max_techniciens__lte=MAX_TECHNICIENS),
                name="convention_max_techniciens_range",
            ),
            models.CheckConstraint(
                condition=Q(date_fin__isnull=True) | Q(date_fin__gte=models.F("date_debut")),
                name="convention_fin_after_debut",
                violation_error_message=_("La date de fin doit suivre la date de début."),
            ),
        ]
        indexes = [models.Index(fields=["structure", "organisme", "date_fin"])]

    def __str__(self) -> str:
        return f"{self.reference} — {self.structure} / {self.organisme}"

    def etat(self, today: datetime.date | None = None) -> "Convention.Etat":
        today = today or timezone.localdate()
        if today < self.date_debut:
            return self.Etat.A_VENIR
        if self.date_fin is not None and today > self.date_fin:
            return self.Etat.TERMINEE
        return self.Etat.EN_COURS

    @property
    def is_en_cours(self) -> bool:
        return self.etat() == self.Etat.EN_COURS

    def overlapping(self) -> "ConventionQuerySet":
        """Other conventions of the same structure with the same organisme over common dates."""
        others = Convention.objects.filter(
            structure_id=self.structure_id, organisme_id=self.organisme_id
        ).exclude(pk=self.pk)
        if self.date_fin is not None:
            others = others.filter(date_debut__lte=self.date_fin)
        return others.filter(Q(date_fin__isnull=True) | Q(date_fin__gte=self.date_debut))

    def clean(self) -> None:
        if self.date_fin and self.date_debut and self.date_fin < self.date_debut:
            raise ValidationError({"date_fin": _("La date de fin doit suivre la date de début.")})
        complete = self.structure_id and self.organisme_id and self.date_debut
        if complete and self.overlapping().exists():
            raise ValidationError(
                _(
                    "Cette structure a déjà une convention avec cet organisme sur ces dates : "
                    "deux conventions avec le même organisme ne peuvent pas se chevaucher."
                ),
                code="overlap",
            )
