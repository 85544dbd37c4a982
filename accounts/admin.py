from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from conventions.admin import StructureAdmin
from conventions.scoping import structures_in_scope
from core.admin_actions import ask_confirmation, ask_reason
from core.admin_history import HistoryAdminMixin
from core.admin_readonly import ReadOnlyAdminMixin
from notifications.admin import SentEmailAdmin
from notifications.models import SentEmail
from organismes.models import StructurePartenaire
from organismes.scoping import OrganismeScopedAdminMixin

from . import second_factor, services
from .bounces import motif_label
from .forms import AccountChangeForm, AgentCreationForm, GestionnaireCreationForm
from .models import PARTNER_ROLES, AccountEvent, PartnerAccount, Role, StaffAccount
from .reviews import due_for_review, last_review

PERSON_FIELDSET = (
    _("Personne"),
    {
        "fields": (
            "civilite",
            ("nom_patronymique", "nom_usuel"),
            "prenom",
            "fonction",
            "telephone",
            "email",
        )
    },
)
STATE_FIELDS = (
    "identifiant",
    "role",
    "is_active",
    "inactivated_at",
    "reactivation_reason",
    "created_at",
    "created_by",
    "password_changed_at",
    "cgu_version",
    "cgu_accepted_at",
)


class AccountEventInline(admin.TabularInline):
    """The history of the account, read-only: it is append-only."""

    model = AccountEvent
    fk_name = "account"
    fields = ("at", "kind", "by", "changes", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    template = "admin/edit_inline/readonly_table.html"
    verbose_name_plural = _("historique")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


class AccountAdminBase(HistoryAdminMixin, OrganismeScopedAdminMixin, admin.ModelAdmin):
    """What the partners' and the staff's account admins share: creation and changes go
    through the services, so that rules, history and invitations are always applied."""

    history_recorded_by_services = True

    creation_form = None
    list_display = (
        "identifiant",
        "nom_complet",
        "role",
        "email",
        "telephone",
        "is_active",
    )
    search_fields = ("identifiant", "nom_usuel", "nom_patronymique", "prenom", "email")
    ordering = ("-is_active", "nom_usuel", "nom_patronymique", "prenom")
    inlines = (AccountEventInline,)
    actions = ("renvoyer_invitation",)

    @admin.display(description=_("nom"), ordering="nom_usuel")
    def nom_complet(self, account) -> str:
        return f"{account.get_civilite_display()} {account.nom} {account.prenom}"

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are inactivated, then purged by the scheduled job

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = AccountChangeForm if obj is not None else self.creation_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        return STATE_FIELDS if obj is not None else ()

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS}
        if change:
            services.modify_account(by=request.user, account=obj, data=data)
        else:
            created = self.create(request, form, data)
            obj.pk = created.pk
            obj.identifiant = created.identifiant

    def create(self, request, form, data):
        raise NotImplementedError

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.AccountRuleError as error:
            # A rule broken by a concurrent request between the form's checks and the save.
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def apply_to_each(self, request, queryset, operation, done_message: str) -> None:
        """Run a service on each selected account; say what it did or which rule refused."""
        for account in queryset.select_related("structure"):
            try:
                operation(by=request.user, account=account)
            except services.AccountRuleError as error:
                self.message_user(request, f"{account.identifiant} : {error}", messages.ERROR)
            else:
                self.message_user(request, done_message % account.identifiant, messages.SUCCESS)

    @admin.action(permissions=("change",), description=_("Renvoyer l'invitation"))
    def renvoyer_invitation(self, request, queryset):
        self.apply_to_each(
            request, queryset, services.resend_invitation, _("Invitation renvoyée à %s.")
        )


class EmailInvalideFilter(admin.SimpleListFilter):
    """Accounts whose address the e-mail provider reported as undeliverable (accounts.bounces)."""

    title = _("adresse e-mail")
    parameter_name = "email_invalide"

    def lookups(self, request, model_admin):
        return (("oui", _("invalide")), ("non", _("sans signalement")))

    def queryset(self, request, queryset):
        if self.value() == "oui":
            return queryset.filter(email_invalid_at__isnull=False)
        if self.value() == "non":
            return queryset.filter(email_invalid_at__isnull=True)
        return queryset


@admin.register(PartnerAccount)
class PartnerAccountAdmin(AccountAdminBase):
    creation_form = GestionnaireCreationForm
    list_display = (
        *AccountAdminBase.list_display[:3],
        "structure",
        AccountAdminBase.list_display[3],
        "email_invalide",
        *AccountAdminBase.list_display[4:],
    )
    list_filter = (
        "role",
        "is_active",
        EmailInvalideFilter,
        ("structure", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("structure",)
    search_fields = (*AccountAdminBase.search_fields, "structure__nom")
    autocomplete_fields = ("structure",)
    actions = ("inactiver", "reactiver", *AccountAdminBase.actions)

    @admin.display(description=_("e-mail invalide"), ordering="email_invalid_at")
    def email_invalide(self, account) -> str:
        if account.email_invalid_at is None:
            return ""
        return _("depuis le %(date)s (%(motif)s)") % {
            "date": date_format(timezone.localtime(account.email_invalid_at), "SHORT_DATE_FORMAT"),
            "motif": motif_label(account.email_invalide_motif),
        }

    def scope(self, request, queryset):
        return queryset.filter(
            role__in=PARTNER_ROLES, structure__in=structures_in_scope(request.user)
        )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((_("Structure"), {"fields": ("structure",)}), PERSON_FIELDSET)
        return (
            PERSON_FIELDSET,
            (_("Compte"), {"fields": ("structure", *STATE_FIELDS)}),
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if obj.role == Role.TECHNICIEN:
            # Techniciens are managed by their structure's gestionnaires (SPEC §4).
            return ("structure", *STATE_FIELDS, *services.EDITABLE_FIELDS)
        return ("structure", *STATE_FIELDS)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            organisme = None if request.user.is_superuser else request.user.organisme

            class ScopedCreationForm(form):
                def __init__(self, *args, **kwargs):
                    super().__init__(*args, organisme=organisme, **kwargs)

            return ScopedCreationForm
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "structure":
            kwargs["queryset"] = structures_in_scope(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def create(self, request, form, data):
        return services.create_partner_account(
            by=request.user,
            role=Role.GESTIONNAIRE,
            structure=form.cleaned_data["structure"],
            organisme=form.organisme,
            data=data,
        )

    @admin.action(permissions=("change",), description=_("Inactiver les comptes sélectionnés"))
    def inactiver(self, request, queryset):
        self.apply_to_each(request, queryset, services.inactivate_account, _("Compte %s inactivé."))

    @admin.action(permissions=("change",), description=_("Réactiver les comptes sélectionnés"))
    def reactiver(self, request, queryset):
        """Within the quota; the account gets a new "Créer mon mot de passe" link."""
        motif = ask_reason(
            self,
            request,
            queryset,
            action="reactiver",
            intro=_(
                "Ces comptes seront réactivés, dans la limite des quotas de la convention, et "
                "recevront un lien pour créer un nouveau mot de passe :"
            ),
            submit_label=_("Réactiver"),
        )
        if not isinstance(motif, str):
            return motif
        organisme = None if request.user.is_superuser else request.user.organisme

        def reactivate(*, by, account):
            services.reactivate_account(by=by, account=account, reason=motif, organisme=organisme)

        self.apply_to_each(request, queryset, reactivate, _("Compte %s réactivé."))
        return None


@admin.register(StaffAccount)
class StaffAccountAdmin(AccountAdminBase):
    """Agents de caisse, created by national administrators (superusers) only."""

    creation_form = AgentCreationForm
    list_display = (
        *AccountAdminBase.list_display[:3],
        "organisme",
        *AccountAdminBase.list_display[3:],
    )
    list_filter = ("role", "is_active", "organisme")
    list_select_related = ("organisme",)
    actions = ("inactiver", "reinitialiser_facteurs", *AccountAdminBase.actions)

    @admin.action(permissions=("change",), description=_("Inactiver les comptes sélectionnés"))
    def inactiver(self, request, queryset):
        """An agent who leaves: the demandes they handled are listed for reassignment."""
        self.apply_to_each(request, queryset, services.inactivate_account, _("Compte %s inactivé."))
        # A URL, not an import: the demandes are a layer above the accounts.
        self.message_user(
            request,
            format_html(
                '{} <a href="{}?attribution=inactif">{}</a>',
                _("Les demandes en cours de ces agents restent à leur nom :"),
                reverse("admin:demandes_demande_changelist"),
                _("les réattribuer"),
            ),
            messages.WARNING,
        )

    def scope(self, request, queryset):
        if not request.user.is_superuser:
            return queryset.none()
        return queryset.filter(role__in=(Role.AGENT, Role.ADMINISTRATEUR))

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((_("Organisme"), {"fields": ("organisme",)}), PERSON_FIELDSET)
        return (
            PERSON_FIELDSET,
            (_("Compte"), {"fields": ("organisme", *STATE_FIELDS, "double_authentification")}),
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("organisme", *STATE_FIELDS, "double_authentification")

    @admin.display(description=_("Double authentification"))
    def double_authentification(self, account) -> str:
        kinds = second_factor.enrolled_kinds(account)
        return ", ".join(kinds) if kinds else _("à activer à la prochaine connexion")

    def create(self, request, form, data):
        return services.create_agent_account(
            by=request.user, organisme=form.cleaned_data["organisme"], data=data
        )

    def has_reset_second_factor_permission(self, request) -> bool:
        return request.user.is_superuser

    @admin.action(
        permissions=("reset_second_factor",),
        description=_("Réinitialiser les facteurs d'authentification"),
    )
    def reinitialiser_facteurs(self, request, queryset):
        """A lost phone or passkey: every factor of the accounts deleted, after a confirmation;
        they enrol again at their next log-in (SPEC §10). In the history of each account."""
        page = ask_confirmation(
            self,
            request,
            queryset,
            action="reinitialiser_facteurs",
            intro=_(
                "Les applications d'authentification, clés d'accès et codes de secours de ces "
                "comptes seront supprimés ; leurs sessions en cours perdent l'accès à "
                "l'administration, et ils choisiront un nouveau second facteur à leur prochaine "
                "connexion :"
            ),
            submit_label=_("Réinitialiser les facteurs"),
        )
        if page is not None:
            return page
        for account in queryset:
            second_factor.reset_second_factor(by=request.user, account=account)
            self.message_user(
                request,
                _("Facteurs d'authentification de %s réinitialisés.") % account.identifiant,
                messages.SUCCESS,
            )
        return None


class AccountLogAdmin(ReadOnlyAdminMixin, OrganismeScopedAdminMixin, admin.ModelAdmin):
    """A read-only log about accounts: an agent sees the lines of their partners' accounts."""

    def scope(self, request, queryset):
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            account__role__in=PARTNER_ROLES,
            account__structure__in=structures_in_scope(request.user),
        )


@admin.register(SentEmail)
class AccountSentEmailAdmin(AccountLogAdmin, SentEmailAdmin):
    pass


@admin.register(AccountEvent)
class AccountEventAdmin(AccountLogAdmin):
    list_display = ("at", "account", "kind", "by")
    list_filter = ("kind",)
    list_select_related = ("account", "by")
    search_fields = ("account__identifiant", "account__nom_usuel", "account__nom_patronymique")
    date_hierarchy = "at"


# --- Structures, with their last 'Revue des habilitations' ----------------------------------


class ReviewFilter(admin.SimpleListFilter):
    """Structures whose review is late: more than HABILITATION_REVIEW_MONTHS since the last one
    (or since their first convention started), with active techniciens (accounts.reviews)."""

    title = _("revue des habilitations")
    parameter_name = "revue"

    def lookups(self, request, model_admin):
        return (("en_retard", _("revue en retard")), ("a_jour", _("à jour")))

    def queryset(self, request, queryset):
        if self.value() == "en_retard":
            return due_for_review(queryset)
        if self.value() == "a_jour":
            return queryset.exclude(pk__in=due_for_review(queryset).values("pk"))
        return queryset


def _reviewer_name(prenom: str | None, nom: str | None) -> str:
    return f"{prenom} {nom}" if prenom else str(_("compte supprimé"))


class StructureReviewAdmin(StructureAdmin):
    """The structure's page and list, as conventions.admin defines them, with the last review
    of habilitations and who did it: accounts knows the reviews, so it registers the page."""

    list_display = (*StructureAdmin.list_display, "derniere_revue")
    readonly_fields = (*StructureAdmin.readonly_fields, "revue_des_habilitations")
    fieldsets = (
        *StructureAdmin.fieldsets,
        (_("Revue des habilitations"), {"fields": ("revue_des_habilitations",)}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _revue_at=last_review("at"),
                _revue_prenom=last_review("by__prenom"),
                _revue_nom_usuel=last_review("by__nom_usuel"),
                _revue_nom_patronymique=last_review("by__nom_patronymique"),
                _revue_confirmed=last_review("confirmed"),
                _revue_inactivated=last_review("inactivated"),
            )
        )

    def get_list_filter(self, request):
        return (*super().get_list_filter(request), ReviewFilter)

    def _reviewer(self, structure) -> str:
        return _reviewer_name(
            structure._revue_prenom, structure._revue_nom_usuel or structure._revue_nom_patronymique
        )

    @admin.display(description=_("dernière revue des habilitations"), ordering="_revue_at")
    def derniere_revue(self, structure) -> str:
        if structure._revue_at is None:
            return ""
        return f"{date_format(timezone.localtime(structure._revue_at), 'j F Y')}, " + (
            self._reviewer(structure)
        )

    @admin.display(description=_("dernière revue des habilitations"))
    def revue_des_habilitations(self, structure) -> str:
        if structure is None or structure.pk is None or structure._revue_at is None:
            return _("aucune revue enregistrée")
        return _("%(date)s par %(name)s (%(confirmed)s, %(inactivated)s)") % {
            "date": date_format(timezone.localtime(structure._revue_at), "j F Y"),
            "name": self._reviewer(structure),
            "confirmed": ngettext(
                "%(count)d compte confirmé",
                "%(count)d comptes confirmés",
                structure._revue_confirmed,
            )
            % {"count": structure._revue_confirmed},
            "inactivated": ngettext(
                "%(count)d inactivé", "%(count)d inactivés", structure._revue_inactivated
            )
            % {"count": structure._revue_inactivated},
        }


admin.site.unregister(StructurePartenaire)
admin.site.register(StructurePartenaire, StructureReviewAdmin)
# --- The admins of the libraries, recorded in the history too -------------------------------


def _with_history(site: admin.AdminSite, models) -> None:
    """Register again, with HistoryAdminMixin, the admins the libraries registered: a
    superuser's change of a group or of a second factor, or the deletion of a lock-out, is in
    the history like any other (issue 17, item 3). Secret fields (a device's key) never are."""
    for model in models:
        library_admin = type(site._registry[model])
        site.unregister(model)
        site.register(model, type(library_admin.__name__, (HistoryAdminMixin, library_admin), {}))


_with_history(
    admin.site,
    (Group, AccessAttempt, AccessLog, AccessFailureLog, TOTPDevice, StaticDevice),
)
