import datetime

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _

from accounts.models import Civilite
from core.months import months_before
from core.nir import validate_no_nir
from organismes.models import Organisme
from organismes.scoping import of_own_organisme

from .catalogue import DEPARTEMENT_CHOICES, URGENCES, motif_label

COMMENT_MAX_LENGTH = 4000


class ReferenceCounter(models.Model):
    """The last number given in a year: EP-2026-000123. Incremented under a row lock."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("compteur de références")

    def __str__(self) -> str:
        return f"{self.year} : {self.last}"


class Statut(models.TextChoices):
    ENVOYEE = "envoyee", _("envoyée")
    EN_COURS = "en_cours", _("en cours de traitement")
    COMPLEMENT_DEMANDE = "complement_demande", _("complément demandé")
    COMPLEMENT_FOURNI = "complement_fourni", _("complément fourni")
    CLOTUREE = "cloturee", _("clôturée")


# The lifecycle (SPEC §5), in one place: from a status, where a demande may go.
TRANSITIONS = {
    Statut.ENVOYEE: {Statut.EN_COURS, Statut.COMPLEMENT_DEMANDE, Statut.CLOTUREE},
    Statut.EN_COURS: {Statut.COMPLEMENT_DEMANDE, Statut.CLOTUREE},
    Statut.COMPLEMENT_DEMANDE: {Statut.COMPLEMENT_FOURNI, Statut.CLOTUREE},
    Statut.COMPLEMENT_FOURNI: {Statut.EN_COURS, Statut.COMPLEMENT_DEMANDE, Statut.CLOTUREE},
    Statut.CLOTUREE: set(),
}
OPEN_STATUTS = tuple(statut for statut in Statut if statut != Statut.CLOTUREE)


class DemandeQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(statut=Statut.CLOTUREE)

    def for_agent_list(self):
        """Urgent first, then the oldest: what an agent should take next comes first."""
        return self.order_by("-urgent", "created_at", "pk")

    def due_for_anonymisation(self, now: datetime.datetime) -> "DemandeQuerySet":
        """The closed demandes not anonymised yet whose organisme's retention delay has passed
        since their closure (SPEC §10). The cut-off of each delay in use is computed here, in
        calendar months of French time (one query for the delays), and chosen per row in SQL."""
        delays = set(Organisme.objects.values_list("delai_conservation_demandes_mois", flat=True))
        # In local time: "24 months ago" is the same hour on the wall clock, across a DST change.
        local_now = timezone.localtime(now)
        return (
            self.filter(statut=Statut.CLOTUREE, anonymisee_le__isnull=True)
            .alias(
                limite=Case(
                    *(
                        When(
                            organisme__delai_conservation_demandes_mois=months,
                            then=Value(months_before(local_now, months)),
                        )
                        for months in sorted(delays)
                    ),
                    default=Value(None),
                    output_field=models.DateTimeField(),
                )
            )
            .filter(closed_at__lt=F("limite"))
        )

    def assigned_to_inactive_agents(self) -> "DemandeQuerySet":
        """Open demandes whose owner's account was inactivated: to reassign (SPEC §10)."""
        return self.open().filter(assigned_to__is_active=False)

    def visible_to(self, user) -> "DemandeQuerySet":
        """The demandes this person may see: a partner their structure's, an agent their
        organisme's, a superuser all; none for an inactive account or a structure whose access
        is suspended, whatever a session or the log-in backend let through."""
        if not user.is_active:
            return self.none()
        if user.is_partner:
            return self.filter(structure_id=user.structure_id, structure__suspended_at__isnull=True)
        return of_own_organisme(user, self)


def validate_date_naissance(value: datetime.date) -> None:
    from django.core.exceptions import ValidationError

    if value > timezone.localdate():
        raise ValidationError(_("La date de naissance ne peut pas être dans le futur."))
    if value.year < 1900:
        raise ValidationError(_("La date de naissance ne peut pas être avant 1900."))


class Demande(models.Model):
    reference = models.CharField(_("référence"), max_length=20, unique=True, editable=False)
    offre = models.ForeignKey(
        "conventions.Offre", on_delete=models.PROTECT, related_name="+", verbose_name=_("offre")
    )
    motif = models.CharField(_("motif"), max_length=40)
    structure = models.ForeignKey(
        "organismes.StructurePartenaire",
        on_delete=models.PROTECT,
        related_name="demandes",
        verbose_name=_("structure"),
    )
    organisme = models.ForeignKey(
        "organismes.Organisme",
        on_delete=models.PROTECT,
        related_name="demandes",
        verbose_name=_("organisme"),
    )
    convention = models.ForeignKey(
        "conventions.Convention",
        on_delete=models.PROTECT,
        related_name="demandes",
        verbose_name=_("convention"),
        db_index=False,  # demande_indicateurs_idx starts with it
    )
    # SET_NULL: a purged account's demandes stay with the structure ("compte supprimé").
    auteur = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="demandes",
        verbose_name=_("auteur"),
    )

    # The insured person — never the NIR. Blank only once anonymised (a constraint says so): the
    # portal's form requires them.
    civilite = models.CharField(_("civilité"), max_length=3, choices=Civilite.choices, blank=True)
    nom = models.CharField(_("nom"), max_length=60, blank=True, validators=[validate_no_nir])
    prenom = models.CharField(_("prénom"), max_length=40, blank=True, validators=[validate_no_nir])
    date_naissance = models.DateField(
        _("date de naissance"), null=True, blank=True, validators=[validate_date_naissance]
    )
    departement = models.CharField(
        _("département de résidence"), max_length=3, choices=DEPARTEMENT_CHOICES
    )

    commentaire = models.TextField(
        _("commentaire"),
        blank=True,
        validators=[MaxLengthValidator(COMMENT_MAX_LENGTH), validate_no_nir],
    )
    consentement = models.BooleanField(_("consentement de l'assuré"))
    urgent = models.BooleanField(_("urgent / bloqué"), default=False)
    categorie_urgence = models.CharField(
        _("catégorie d'urgence"), max_length=30, choices=URGENCES, blank=True
    )

    statut = models.CharField(
        _("statut"), max_length=20, choices=Statut.choices, default=Statut.ENVOYEE
    )
    reponse = models.TextField(
        _("réponse de l'organisme"), blank=True, validators=[validate_no_nir]
    )
    created_at = models.DateTimeField(_("envoyée le"), default=timezone.now)
    updated_at = models.DateTimeField(_("mise à jour le"), auto_now=True)
    closed_at = models.DateTimeField(_("clôturée le"), null=True, blank=True)
    # The fund's agent who handles it (SPEC §10, the work queue): an agent of the demande's
    # organisme (services.attribuer checks it), or nobody. SET_NULL: a purged account leaves
    # the demande unassigned.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="demandes_attribuees",
        verbose_name=_("attribuée à"),
    )
    assigned_at = models.DateTimeField(_("attribuée le"), null=True, blank=True)
    # Set by the retention job (demandes/jobs.py) when it erased the person and the texts.
    anonymisee_le = models.DateTimeField(
        _("données anonymisées le"), null=True, blank=True, editable=False
    )

    objects = DemandeQuerySet.as_manager()

    class Meta:
        verbose_name = _("demande")
        verbose_name_plural = _("demandes")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(consentement=True), name="demande_consentement"),
            models.CheckConstraint(
                condition=Q(urgent=False, categorie_urgence="")
                | (Q(urgent=True) & ~Q(categorie_urgence="")),
                name="demande_urgence_has_category",
            ),
            models.CheckConstraint(
                condition=Q(statut=Statut.CLOTUREE, closed_at__isnull=False)
                | (~Q(statut=Statut.CLOTUREE) & Q(closed_at__isnull=True)),
                name="demande_closed_at_iff_cloturee",
            ),
            models.CheckConstraint(
                condition=Q(anonymisee_le__isnull=True) | Q(statut=Statut.CLOTUREE),
                name="demande_anonymisee_only_cloturee",
            ),
            models.CheckConstraint(
                condition=Q(anonymisee_le__isnull=False)
                | (~Q(civilite="") & ~Q(nom="") & ~Q(prenom="") & Q(date_naissance__isnull=False)),
                name="demande_identity_unless_anonymisee",
                violation_error_message=_(
                    "La civilité, le nom, le prénom et la date de naissance de l'assuré sont "
                    "obligatoires."
                ),
            ),
        ]
        indexes = [
            # The partner's history: the structure's demandes with one organisme, newest first
            # (the list's order, the key included), with the columns of its filters: counting,
            # filtering and skipping to a deep page read the index only, not the table.
            # (Django creates no covering index on SQLite: the embedded default goes without.)
            models.Index(
                fields=["structure", "organisme", "-created_at", "-id"],
                include=["statut", "offre", "urgent"],
                name="demande_historique_idx",
            ),
            models.Index(fields=["structure", "organisme", "nom", "prenom"]),
            # The agent's list: their organisme's, urgent first then oldest; by status.
            models.Index(fields=["organisme", "-urgent", "created_at"]),
            models.Index(fields=["organisme", "statut"]),
            # "Mes demandes", "Par agent": an agent's demandes, in the list's order.
            models.Index(
                fields=["assigned_to", "-urgent", "created_at"], name="demande_attribuee_idx"
            ),
            # The indicators of a convention over a period: every figure from the index alone.
            models.Index(
                fields=["convention", "created_at"],
                include=["offre", "urgent", "categorie_urgence", "statut", "closed_at"],
                name="demande_indicateurs_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def motif_label(self) -> str:
        return motif_label(self.offre.code, self.motif)

    @property
    def is_anonymisee(self) -> bool:
        return self.anonymisee_le is not None

    @property
    def is_open(self) -> bool:
        return self.statut != Statut.CLOTUREE

    def can_become(self, statut: str) -> bool:
        return statut in TRANSITIONS[Statut(self.statut)]


class _AttachmentsStorage(LazyObject):
    """STORAGES["attachments"] (local files outside the web root, or S3), looked up when first
    used and again after the setting changes (tests), not frozen when the models load."""

    def _setup(self):
        self._wrapped = storages["attachments"]


_attachments_storage = _AttachmentsStorage()


@receiver(setting_changed)
def _forget_attachments_storage(*, setting: str, **kwargs) -> None:
    if setting == "STORAGES":
        _attachments_storage._wrapped = empty


def attachments_storage():
    return _attachments_storage


def attachment_path(instance: "PieceJointe", filename: str) -> str:
    # Not guessable, not the uploaded name (kept apart, sanitised, for display).
    return f"demandes/{instance.demande.created_at:%Y/%m}/{instance.demande.reference}/{filename}"


class Evenement(models.Model):
    """One line of a demande's timeline: a status change, a message, attachments."""

    class Kind(models.TextChoices):
        CREEE = "creee", _("demande envoyée")
        STATUT = "statut", _("changement de statut")
        MESSAGE = "message", _("message")
        PIECES = "pieces", _("pièces jointes")
        # Internal to the fund: never in the partner's timeline (views.detail).
        ATTRIBUTION = "attribution", _("attribution")

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="evenements")
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    statut = models.CharField(
        _("nouveau statut"), max_length=20, choices=Statut.choices, blank=True
    )
    message = models.TextField(_("message"), blank=True, validators=[validate_no_nir])
    de_l_organisme = models.BooleanField(_("de l'organisme"), default=False)
    auteur = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    # An ATTRIBUTION's new owner; empty when the demande was released.
    attribue_a = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("attribuée à"),
    )
    at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("chronologie")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["demande", "at"])]

    def __str__(self) -> str:
        return f"{self.demande.reference} — {self.get_kind_display()}"


class PieceJointeQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PieceJointeQuerySet":
        """The files of the demandes this person may see, and no other: one rule for both. The
        files of an anonymised demande are out of reach at once, even before the job has deleted
        them from storage."""
        return self.filter(
            demande__in=Demande.objects.visible_to(user), demande__anonymisee_le__isnull=True
        )


class PieceJointe(models.Model):
    class Sens(models.TextChoices):
        ENTRANTE = "entrante", _("du partenaire")
        SORTANTE = "sortante", _("de l'organisme")

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="pieces")
    evenement = models.ForeignKey(
        Evenement, on_delete=models.CASCADE, related_name="pieces", null=True, blank=True
    )
    sens = models.CharField(_("sens"), max_length=10, choices=Sens.choices)
    fichier = models.FileField(_("fichier"), upload_to=attachment_path, storage=attachments_storage)
    nom = models.CharField(_("nom du fichier"), max_length=120, validators=[validate_no_nir])
    type_mime = models.CharField(_("type"), max_length=40)
    taille = models.PositiveIntegerField(
        _("taille (octets)"), validators=[MinValueValidator(1), MaxValueValidator(2**31 - 1)]
    )
    created_at = models.DateTimeField(_("ajoutée le"), default=timezone.now)

    objects = PieceJointeQuerySet.as_manager()

    class Meta:
        verbose_name = _("pièce jointe")
        verbose_name_plural = _("pièces jointes")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.nom
