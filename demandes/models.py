import datetime

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _

from accounts.models import Civilite
from core.months import months_before
from core.nir import validate_no_nir
from core.workdays import earliest_within, working_days_between
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

    def with_offer_delays(self) -> "DemandeQuerySet":
        """`delai_offre_urgent`, `delai_offre`: the organisme's own delays for the offer (or None)
        in the same query as the rows."""
        # At most one row (unique per organisme and offer): without the model's ordering, which
        # would join the organisme and the offer into each subquery for nothing.
        own = DelaiCibleOffre.objects.filter(
            organisme=OuterRef("organisme"), offre=OuterRef("offre")
        ).order_by()
        return self.annotate(
            delai_offre_urgent=Subquery(own.values("delai_urgent_jours")[:1]),
            delai_offre=Subquery(own.values("delai_jours")[:1]),
        )

    def with_unread_for_the_fund(self) -> "DemandeQuerySet":
        """`non_lus`: the partner's messages of each demande the fund has not read (mark_read),
        counted in the same query as the rows."""
        unread = (
            Evenement.objects.filter(demande=OuterRef("pk"), de_l_organisme=False, lu_le=None)
            .exclude(message="")
            .order_by()
            .values("demande")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return self.annotate(non_lus=Coalesce(Subquery(unread), 0))

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

    def en_retard(self, today: datetime.date | None = None) -> "DemandeQuerySet":
        """The open demandes past their organisme's target delay (issue 18, item 6): sent before
        the first day still within it, chosen per row in SQL among the delays in use (one query
        for them), as Demande.is_en_retard says of one row."""
        today = today or timezone.localdate()
        delays = Organisme.objects.values_list("delai_cible_urgent_jours", "delai_cible_jours")
        urgent_delays, other_delays = (set(column) for column in zip(*delays, strict=True))

        def cutoff(days: int) -> Value:
            return Value(_start_of(earliest_within(days, today)))

        # An offer's own delays first (one query for them), then the organisme's.
        own = DelaiCibleOffre.objects.values_list(
            "organisme_id", "offre_id", "delai_urgent_jours", "delai_jours"
        )
        whens = [
            When(organisme_id=organisme_id, offre_id=offre_id, urgent=urgent, then=cutoff(days))
            for organisme_id, offre_id, urgent_days, other_days in own
            for urgent, days in ((True, urgent_days), (False, other_days))
        ]
        whens += [
            When(
                **{"urgent": urgent, f"organisme__{field}": days},
                then=cutoff(days),
            )
            for urgent, field, in_use in (
                (True, "delai_cible_urgent_jours", urgent_delays),
                (False, "delai_cible_jours", other_delays),
            )
            for days in sorted(in_use)
        ]
        if not whens:
            return self.none()
        return (
            self.open()
            .alias(limite=Case(*whens, default=Value(None), output_field=models.DateTimeField()))
            .filter(created_at__lt=F("limite"))
        )

    def awaiting_the_partner(self) -> "DemandeQuerySet":
        """Open demandes whose last word is the fund's, asking for an answer (a complement or a
        message with "réponse attendue")."""
        return self.open().filter(reponse_attendue_depuis__isnull=False)

    def unread_by_the_fund(self) -> "DemandeQuerySet":
        """Demandes with a partner's message no one at the fund has read yet (mark_read)."""
        unread = Evenement.objects.filter(demande=OuterRef("pk"), de_l_organisme=False, lu_le=None)
        return self.filter(Exists(unread.exclude(message="")))

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


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


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
    # Since when the organisme waits for the partner's answer (a message "réponse attendue" or a
    # complement asked); cleared by the partner's next message (SPEC §10).
    reponse_attendue_depuis = models.DateTimeField(
        _("réponse du partenaire attendue depuis"), null=True, blank=True, editable=False
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
            # The usual processing time of an offer with an organisme (demandes/delays.py): its
            # closures of the last 90 days, not the organisme's years of closed demandes.
            models.Index(
                fields=["organisme", "offre", "closed_at"],
                include=["created_at"],
                condition=Q(statut="cloturee"),
                name="demande_delai_habituel_idx",
            ),
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

    # --- Delays (issue 18, item 6): from the row and its organisme, no query of their own -----

    @property
    def delai_cible_jours(self) -> int:
        """The offer's own delay if the organisme set one (the list annotates it: no query per
        row, DemandeQuerySet.with_offer_delays), else the organisme's."""
        if hasattr(self, "delai_offre_urgent"):
            own = self.delai_offre_urgent if self.urgent else self.delai_offre
        else:
            own = (
                DelaiCibleOffre.objects.filter(
                    organisme_id=self.organisme_id, offre_id=self.offre_id
                )
                .values_list("delai_urgent_jours" if self.urgent else "delai_jours", flat=True)
                .first()
            )
        if own is not None:
            return own
        organisme = self.organisme
        return organisme.delai_cible_urgent_jours if self.urgent else organisme.delai_cible_jours

    def age_jours_ouvres(self, today: datetime.date | None = None) -> int:
        """Working days since sent: up to today while open, up to its closure once closed."""
        end = timezone.localdate(self.closed_at) if self.closed_at else today
        return working_days_between(
            timezone.localdate(self.created_at), end or timezone.localdate()
        )

    def is_en_retard(self, today: datetime.date | None = None) -> bool:
        return self.is_open and self.age_jours_ouvres(today) > self.delai_cible_jours

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
    """One line of a demande's timeline: a status change, a message, attachments.

    The timeline is the demande's message thread (SPEC §10): a message is a line with a text,
    from one side (`de_l_organisme`); a complement asked or provided is a status change with its
    message. Nothing here is private to the fund: the agents' notes are NoteInterne, apart.
    """

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
    reponse_attendue = models.BooleanField(_("réponse attendue"), default=False)
    # When the other side first opened the demande's page after this line was written.
    lu_le = models.DateTimeField(_("lu le"), null=True, blank=True)

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("chronologie")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["demande", "at"])]

    def __str__(self) -> str:
        return f"{self.demande.reference} — {self.get_kind_display()}"

    @property
    def is_system(self) -> bool:
        """A step of the lifecycle without a text: set apart from the messages."""
        return not self.message and self.kind != self.Kind.MESSAGE


def mark_read(demande: Demande, *, by_organisme: bool) -> int:
    """The other side's messages are read by this side now: one UPDATE, whatever their number."""
    return (
        Evenement.objects.filter(demande=demande, de_l_organisme=not by_organisme, lu_le=None)
        .exclude(message="")
        .update(lu_le=timezone.now())
    )


class NoteInterneQuerySet(models.QuerySet):
    def visible_to(self, user) -> "NoteInterneQuerySet":
        """The fund's own notes: an agent's organisme's, a superuser's all; never a partner's."""
        if user.is_partner or not user.is_staff:
            return self.none()
        return self.filter(demande__in=Demande.objects.visible_to(user))


class NoteInterne(models.Model):
    """An agent's private note on a demande (SPEC §10). In a model of its own, with no reverse
    accessor on Demande (related_name "+"), so that no partner page, reaching the demande, can
    reach its notes: they are read only through NoteInterne.objects.visible_to(agent)."""

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="+")
    texte = models.TextField(
        _("note"), validators=[MaxLengthValidator(COMMENT_MAX_LENGTH), validate_no_nir]
    )
    auteur = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    created_at = models.DateTimeField(_("écrite le"), default=timezone.now)

    objects = NoteInterneQuerySet.as_manager()

    class Meta:
        verbose_name = _("note interne")
        verbose_name_plural = _("notes internes")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["demande", "created_at"])]

    def __str__(self) -> str:
        return f"{self.demande_id} — {self.created_at:%Y-%m-%d}"


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


# --- The fund's notifications (issue 18, item 1) ---------------------------------------------


class DelaiCibleOffre(models.Model):
    """An organisme's own target delays for one offer (SPEC §10), instead of its general ones:
    e.g. its rendez-vous in 2 working days when the others may take 10."""

    organisme = models.ForeignKey(
        "organismes.Organisme",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("organisme"),
    )
    offre = models.ForeignKey(
        "conventions.Offre", on_delete=models.CASCADE, related_name="+", verbose_name=_("offre")
    )
    delai_urgent_jours = models.PositiveSmallIntegerField(
        _("délai cible des demandes urgentes (jours ouvrés)"),
        validators=[MinValueValidator(1), MaxValueValidator(30)],
    )
    delai_jours = models.PositiveSmallIntegerField(
        _("délai cible des autres demandes (jours ouvrés)"),
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )

    class Meta:
        verbose_name = _("délai cible d'une offre")
        verbose_name_plural = _("délais cibles par offre")
        ordering = ["organisme__nom", "offre__libelle"]
        constraints = [
            models.UniqueConstraint(fields=["organisme", "offre"], name="delai_cible_offre_unique"),
            models.CheckConstraint(
                condition=Q(delai_urgent_jours__gte=1, delai_urgent_jours__lte=30)
                & Q(delai_jours__gte=1, delai_jours__lte=90),
                name="delai_cible_offre_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisme} — {self.offre}"


class FundEvent(models.Model):
    """Something a partner did that the organisme's agents hear of (demandes/notify.py): written
    in the transaction of the event, e-mailed at once to who chose so, read by the next daily
    digests, and deleted by the digest job after FUND_EVENT_RETENTION."""

    class Kind(models.TextChoices):
        NOUVELLE_URGENTE = "nouvelle_urgente", _("Nouvelle demande urgente")
        NOUVELLE = "nouvelle", _("Nouvelle demande")
        COMPLEMENT_FOURNI = "complement_fourni", _("Complément fourni")
        MESSAGE_PARTENAIRE = "message_partenaire", _("Message du partenaire")

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="+")
    # The demande's organisme, copied: the digest reads an organisme's events by date.
    organisme = models.ForeignKey(
        "organismes.Organisme", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(_("événement"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("événement notifié à l'organisme")
        verbose_name_plural = _("événements notifiés à l'organisme")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["organisme", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.demande_id}"


class NotificationChoice(models.TextChoices):
    IMMEDIAT = "immediat", _("À chaque fois")
    RESUME = "resume", _("Dans le résumé quotidien")
    JAMAIS = "jamais", _("Jamais")


def _choice_field(kind: FundEvent.Kind, default: str) -> models.CharField:
    """An agent's choice for one kind of event, named after it."""
    return models.CharField(
        kind.label, max_length=10, choices=NotificationChoice.choices, default=default
    )


class NotificationPreferences(models.Model):
    """What an agent de caisse chooses to hear of, per kind of event ("Mes notifications"); an
    agent without a row has the defaults. The digest's date makes the daily job idempotent."""

    Choice = NotificationChoice

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("agent"),
    )
    nouvelle_urgente = _choice_field(FundEvent.Kind.NOUVELLE_URGENTE, NotificationChoice.IMMEDIAT)
    nouvelle = _choice_field(FundEvent.Kind.NOUVELLE, NotificationChoice.RESUME)
    complement_fourni = _choice_field(FundEvent.Kind.COMPLEMENT_FOURNI, NotificationChoice.RESUME)
    message_partenaire = _choice_field(FundEvent.Kind.MESSAGE_PARTENAIRE, NotificationChoice.RESUME)
    digest_sent_on = models.DateField(_("dernier résumé le"), null=True, blank=True, editable=False)
    # The end of the period the last digest covered: the next one starts there.
    digest_covered_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("préférences de notification")
        verbose_name_plural = _("préférences de notification")

    def __str__(self) -> str:
        return str(self.agent)

    @classmethod
    def default(cls, kind: str) -> str:
        return cls._meta.get_field(kind).default

    def choice(self, kind: str) -> str:
        return getattr(self, kind)
