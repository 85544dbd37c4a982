import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.changes import change_lines
from core.fields import LowerEmailField, NomField, PrenomField, TelephoneField
from core.nir import validate_no_nir
from core.validators import FONCTION_MAX_LENGTH


class Role(models.TextChoices):
    GESTIONNAIRE = "gestionnaire", _("gestionnaire partenaire")
    TECHNICIEN = "technicien", _("technicien partenaire")
    AGENT = "agent", _("agent de caisse")
    ADMINISTRATEUR = "administrateur", _("administrateur national")


PARTNER_ROLES = (Role.GESTIONNAIRE, Role.TECHNICIEN)


class Civilite(models.TextChoices):
    MADAME = "MME", _("Madame")
    MONSIEUR = "M", _("Monsieur")


class UserQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def reachable(self):
        """Accounts whose e-mail address the provider has not reported as bounced."""
        return self.filter(email_invalid_at__isnull=True)

    def partners(self):
        return self.filter(role__in=PARTNER_ROLES)

    def gestionnaires(self):
        return self.filter(role=Role.GESTIONNAIRE)

    def techniciens(self):
        return self.filter(role=Role.TECHNICIEN)

    def agents(self):
        return self.filter(role=Role.AGENT)

    def in_list_order(self, *first: str):
        """Active accounts first, then alphabetical by nom (usuel, else patronymique), prénom.

        `first`: orderings that come before, e.g. "role".
        """
        return self.annotate(
            nom_tri=Coalesce(NullIf("nom_usuel", Value("")), "nom_patronymique")
        ).order_by(*first, "-is_active", "nom_tri", "prenom", "pk")


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, identifiant: str, password: str | None = None, **fields):
        user = self.model(identifiant=identifiant, **fields)
        user.set_password(password)  # None: unusable until the invitation is used
        user.save(using=self._db)
        return user

    def create_superuser(self, identifiant: str, password: str | None = None, **fields):
        fields.pop("is_staff", None)
        fields.pop("is_superuser", None)
        fields.setdefault("role", Role.ADMINISTRATEUR)
        fields.setdefault("civilite", Civilite.MADAME)
        fields.setdefault("prenom", "Admin")
        fields.setdefault("nom_usuel", "NATIONAL")
        fields.setdefault("fonction", "Administration")
        fields.setdefault("telephone", "01.00.00.00.00")
        user = self.create_user(identifiant, password, is_superuser=True, **fields)
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password_changed_at"])
        return user


class User(AbstractBaseUser, PermissionsMixin):
    """Every person who logs in: partners (portal), agents de caisse and administrators (admin)."""

    identifiant = models.CharField(
        _("identifiant de connexion"),
        max_length=40,
        unique=True,
        editable=False,
        help_text=_("Attribué à la création (m.pichon) ; il ne change jamais."),
    )
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices)
    structure = models.ForeignKey(
        "organismes.StructurePartenaire",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="comptes",
        verbose_name=_("structure partenaire"),
    )
    organisme = models.ForeignKey(
        "organismes.Organisme",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agents",
        verbose_name=_("organisme"),
        help_text=_("Pour un agent de caisse : l'organisme dont il gère les partenaires."),
    )

    civilite = models.CharField(_("civilité"), max_length=3, choices=Civilite.choices)
    nom_patronymique = NomField(_("nom patronymique"), blank=True)
    nom_usuel = NomField(_("nom usuel"), blank=True)
    prenom = PrenomField(_("prénom"))
    fonction = models.CharField(
        _("fonction"), max_length=FONCTION_MAX_LENGTH, validators=[validate_no_nir]
    )
    telephone = TelephoneField(_("téléphone"))
    email = LowerEmailField(_("adresse e-mail"))

    is_active = models.BooleanField(_("actif"), default=True)
    inactivated_at = models.DateTimeField(_("inactivé le"), null=True, blank=True)
    reactivation_reason = models.TextField(
        _("motif de la dernière réactivation"), blank=True, validators=[validate_no_nir]
    )
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    created_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("créé par"),
    )
    last_organisme = models.ForeignKey(
        "organismes.Organisme",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dernier organisme sélectionné"),
    )
    cgu_version = models.CharField(_("version des CGU acceptée"), max_length=20, blank=True)
    cgu_accepted_at = models.DateTimeField(_("CGU acceptées le"), null=True, blank=True)
    password_changed_at = models.DateTimeField(_("mot de passe changé le"), null=True, blank=True)
    # The password (by its change date) whose expiry reminder was sent: once per expiry.
    expiry_reminder_sent_for = models.DateTimeField(
        _("rappel d'expiration envoyé pour"), null=True, blank=True, editable=False
    )
    # Set when the e-mail provider reports the address as bounced, rejected or complained.
    email_invalid_at = models.DateTimeField(
        _("adresse e-mail invalide depuis le"), null=True, blank=True, editable=False
    )
    email_invalide_motif = models.CharField(
        _("motif de l'invalidité"), max_length=40, blank=True, editable=False
    )
    # When the account was warned that it would be inactivated for want of use (SPEC §10);
    # cleared at the next log-in. A warning older than the last log-in or invitation is void.
    dormant_warning_sent_at = models.DateTimeField(
        _("averti d'une inactivation pour non-utilisation le"),
        null=True,
        blank=True,
        editable=False,
    )

    objects = UserManager()

    USERNAME_FIELD = "identifiant"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("compte")
        verbose_name_plural = _("comptes")
        ordering = ["nom_usuel", "nom_patronymique", "prenom"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(nom_patronymique="", nom_usuel=""),
                name="user_has_a_nom",
                violation_error_message=_("Renseignez au moins un des deux noms."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(role__in=PARTNER_ROLES, structure__isnull=False, organisme__isnull=True)
                    | Q(role=Role.AGENT, structure__isnull=True, organisme__isnull=False)
                    | Q(role=Role.ADMINISTRATEUR, structure__isnull=True, organisme__isnull=True)
                ),
                name="user_attachment_matches_role",
                violation_error_message=_(
                    "Un compte partenaire est rattaché à une structure, un agent de caisse à un "
                    "organisme."
                ),
            ),
            models.CheckConstraint(
                condition=Q(is_active=True, inactivated_at__isnull=True)
                | Q(is_active=False, inactivated_at__isnull=False),
                name="user_inactivated_at_iff_inactive",
            ),
            models.UniqueConstraint(
                fields=["email", "role"],
                condition=Q(is_active=True),
                name="user_email_unique_among_active_of_role",
                # Says not where the address is used (see services.email_refusal).
                violation_error_message=_(
                    "Cette adresse e-mail ne peut pas être retenue : chaque compte actif doit "
                    "avoir sa propre adresse. Indiquez l'adresse e-mail personnelle de la personne."
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["structure", "role", "is_active"]),
            models.Index(fields=["is_active", "inactivated_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.prenom} {self.nom} ({self.identifiant})"

    @property
    def nom(self) -> str:
        """The name people use: nom usuel if given, else nom patronymique."""
        return self.nom_usuel or self.nom_patronymique

    def get_full_name(self) -> str:
        """'Maryse PICHON', as in the greetings of e-mails."""
        return f"{self.prenom} {self.nom}"

    def get_short_name(self) -> str:
        return self.prenom

    @property
    def is_staff(self) -> bool:
        """Agents de caisse and administrators work in the Django admin; partners never do."""
        return self.role in (Role.AGENT, Role.ADMINISTRATEUR)

    @property
    def is_partner(self) -> bool:
        return self.role in PARTNER_ROLES

    @property
    def is_agent(self) -> bool:
        return self.role == Role.AGENT

    @property
    def is_gestionnaire(self) -> bool:
        return self.role == Role.GESTIONNAIRE

    @property
    def is_technicien(self) -> bool:
        return self.role == Role.TECHNICIEN

    def has_perm(self, perm: str, obj=None) -> bool:
        # An agent's rights come from the role, not from editable groups; what they apply to is
        # narrowed by the admin's organisme-scoped querysets.
        if self.is_active and self.is_agent and perm in AGENT_PERMISSIONS:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.is_agent:
            return any(perm.startswith(f"{app_label}.") for perm in AGENT_PERMISSIONS)
        return super().has_module_perms(app_label)


AGENT_PERMISSIONS = frozenset(
    {
        "organismes.view_structurepartenaire",
        "organismes.add_structurepartenaire",
        "organismes.change_structurepartenaire",
        "conventions.view_convention",
        "conventions.add_convention",
        "conventions.change_convention",
        "accounts.view_partneraccount",
        "accounts.add_partneraccount",
        "accounts.change_partneraccount",
        "accounts.view_accountevent",
        "demandes.view_demande",
        "demandes.change_demande",
        "notifications.view_sentemail",
        "inscriptions.view_preinscription",
        "inscriptions.change_preinscription",  # validate or refuse
        "inscriptions.view_messagecontact",
    }
)


class PartnerAccount(User):
    """The partners' accounts, as the fund's agents see them in the admin."""

    class Meta:
        proxy = True
        verbose_name = _("compte partenaire")
        verbose_name_plural = _("comptes partenaires")


class StaffAccount(User):
    """Agents de caisse and administrators, managed by administrators only."""

    class Meta:
        proxy = True
        verbose_name = _("agent de caisse ou administrateur")
        verbose_name_plural = _("agents de caisse et administrateurs")


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(used_at__isnull=True, revoked_at__isnull=True)


class Invitation(models.Model):
    """A "Créer mon mot de passe" link: single-use, expiring, revoked by a newer one.

    Only a hash of the token is stored: the link itself exists only in the e-mail.
    """

    account = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    # NULL until the e-mail task makes the token (several NULLs do not clash in a unique index).
    token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [models.Index(fields=["account", "used_at", "revoked_at"])]

    def __str__(self) -> str:
        return f"Invitation de {self.account.identifiant}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def new_expiry(cls):
        return timezone.now() + timedelta(hours=settings.INVITATION_TIMEOUT_HOURS)

    def issue_token(self) -> str:
        """Make the secret of the link; called by the task that sends the e-mail."""
        token = secrets.token_urlsafe(32)
        self.token_hash = self.hash_token(token)
        self.save(update_fields=["token_hash"])
        return token

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None and not self.is_expired


class AccountEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("L'historique des comptes ne se modifie pas.")


class AccountEvent(models.Model):
    """Append-only history of what happened to an account (SPEC §4)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("création")
        MODIFIED = "modified", _("modification")
        INACTIVATED = "inactivated", _("inactivation")
        REACTIVATED = "reactivated", _("réactivation")
        INVITATION_SENT = "invitation_sent", _("invitation envoyée")
        PASSWORD_SET = "password_set", _("mot de passe créé")
        HABILITATION_CONFIRMED = "habilitation_confirmed", _("habilitation confirmée")
        DORMANT_WARNED = "dormant_warned", _("averti : compte inutilisé")
        DORMANT_KEPT = "dormant_kept", _("inutilisé, gardé : dernier gestionnaire actif")

    account = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="events", verbose_name=_("compte")
    )
    kind = models.CharField(_("événement"), max_length=30, choices=Kind.choices)
    at = models.DateTimeField(_("date"), default=timezone.now)
    by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    # Before/after values of a modification ({"field": [before, after]}), or the reason.
    changes = models.JSONField(_("changements"), default=dict, blank=True)
    reason = models.TextField(_("motif"), blank=True, validators=[validate_no_nir])

    objects = AccountEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("événement de compte")
        verbose_name_plural = _("historique des comptes")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["account", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.account.identifiant}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("L'historique des comptes ne se modifie pas.")
        super().save(*args, **kwargs)

    @property
    def change_lines(self) -> list[tuple[str, str, str]]:
        return change_lines(self.changes, User)


class HabilitationReview(models.Model):
    """A 'Revue des habilitations' done by a gestionnaire (SPEC §10): the structure's active
    techniciens confirmed or inactivated, at once. Each account's line is in its history."""

    structure = models.ForeignKey(
        "organismes.StructurePartenaire",
        on_delete=models.CASCADE,
        related_name="habilitation_reviews",
        verbose_name=_("structure partenaire"),
    )
    at = models.DateTimeField(_("date"), default=timezone.now)
    # SET_NULL: a purged gestionnaire's review stays, "compte supprimé".
    by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    confirmed = models.PositiveIntegerField(_("comptes confirmés"), default=0)
    inactivated = models.PositiveIntegerField(_("comptes inactivés"), default=0)

    class Meta:
        verbose_name = _("revue des habilitations")
        verbose_name_plural = _("revues des habilitations")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["structure", "-at"])]

    def __str__(self) -> str:
        return f"Revue des habilitations — {self.structure}"


class HabilitationReviewRequest(models.Model):
    """The e-mail asking a structure's gestionnaires for their review was sent at `at`: at most
    one per HABILITATION_REVIEW_MONTHS (accounts.jobs.reviews)."""

    structure = models.ForeignKey(
        "organismes.StructurePartenaire",
        on_delete=models.CASCADE,
        related_name="habilitation_review_requests",
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["structure", "-at"])]

    def __str__(self) -> str:
        return f"Demande de revue des habilitations — {self.structure}"
