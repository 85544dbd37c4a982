"""The history of every admin change (issue 17, items 3 and 7; SPEC §10): who, when, and each
changed field before → after, on the object's "Historique" page of the admin."""

import datetime
import html

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.jobs import purge_inactive_accounts
from accounts.models import PartnerAccount, Role, User
from conventions.models import Offre
from core.admin_history import HistoryAdminMixin
from core.history import DELETED_ACCOUNT, SECRET_FIELDS, record
from core.models import HistoryEntry
from demandes.models import DelaiCibleOffre
from inscriptions.models import PreInscription
from organismes import services as structure_services
from organismes.models import Organisme, StructurePartenaire
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    PreInscriptionFactory,
    StructureFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import log_in_verified

pytestmark = pytest.mark.django_db

# The admins that save nothing a person types, each with the reason; every other admin records.
READ_ONLY_ADMINS = {
    "accounts.AccountEvent": "the account history itself: read-only, append-only",
    "core.HistoryEntry": "this history itself: read-only, append-only",
    "notifications.SentEmail": "the e-mail log: read-only; resending adds a new row, no change",
    "demandes.Demande": "read-only change page; each processing step is in its own timeline",
    "inscriptions.MessageContact": "messages of the public contact form: read-only",
    "audit.AccessLogEntry": "the access log: append-only, no add, change or delete for anyone",
}


def models_without_history(site: admin.AdminSite) -> list[str]:
    """The models registered in `site` whose admin records no history and is not exempted."""
    return sorted(
        model._meta.label
        for model, model_admin in site._registry.items()
        if model._meta.label not in READ_ONLY_ADMINS
        and not isinstance(model_admin, HistoryAdminMixin)
    )


def test_every_model_editable_in_the_admin_records_its_history():
    assert models_without_history(admin.site) == []
    registered = {model._meta.label for model in admin.site._registry}
    assert set(READ_ONLY_ADMINS) <= registered, "an exemption names a model no longer registered"


def test_the_walker_fails_on_an_admin_without_history():
    site = admin.AdminSite(name="walker")
    site.register(Offre, admin.ModelAdmin)
    site.register(Organisme, type("Tracked", (HistoryAdminMixin, admin.ModelAdmin), {}))

    assert models_without_history(site) == ["conventions.Offre"]


def test_the_exempted_admins_really_are_read_only(rf):
    superuser = SuperuserFactory()
    request = rf.get("/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        if model._meta.label in READ_ONLY_ADMINS:
            assert not model_admin.has_add_permission(request), model._meta.label
            assert not model_admin.has_change_permission(request), model._meta.label


# --- Posting the change form of each admin-editable model -----------------------------------


def form_data(response) -> dict:
    """What the browser would post back from a rendered admin change page, unchanged."""
    data = {"_save": "Enregistrer"}
    all_forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        all_forms += list(formset.forms)
    for form in all_forms:
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form[name].value()
            if isinstance(field, forms.BooleanField):
                if value:
                    data[form.add_prefix(name)] = "on"
            elif isinstance(value, (list, tuple)):
                data[form.add_prefix(name)] = [v for v in value if v not in ("", None)]
            elif value is not None:
                data[form.add_prefix(name)] = value
    return data


@pytest.fixture
def superuser_client(client):
    log_in_verified(client, SuperuserFactory(identifiant="a.national"))
    return client


def admin_url(obj, view: str, model=None) -> str:
    opts = (model or type(obj))._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk])


def change_through_the_admin(client, obj, model=None, **changes):
    url = admin_url(obj, "change", model)
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, {**form_data(page), **changes})
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def history_text(client, obj, model=None) -> str:
    page = client.get(admin_url(obj, "history", model))
    assert page.status_code == 200
    return " ".join(html.unescape(page.content.decode()).split())


def partner_account():
    return GestionnaireFactory(structure=ConventionFactory().structure)


# For each admin-editable model: an object, a new value of a field of its form, and the line the
# history page must then show. A model registered in the admin without an entry here fails.
EDITS = {
    "organismes.Organisme": (
        lambda: OrganismeFactory(nom="CPAM DE L'OISE"),
        {"nom": "CPAM DE LA SOMME"},
        "nom : « CPAM DE L'OISE » → « CPAM DE LA SOMME »",
    ),
    "organismes.StructurePartenaire": (
        lambda: ConventionFactory(structure=StructureFactory(nombre_membres=12)).structure,
        {"nombre_membres": "30"},
        "nombre de membres : « 12 » → « 30 »",
    ),
    "conventions.Convention": (
        lambda: ConventionFactory(max_techniciens=5),
        {"max_techniciens": "9"},
        "nombre maximum de techniciens actifs : « 5 » → « 9 »",
    ),
    "conventions.Offre": (
        lambda: Offre.objects.create(code="essai", libelle="Essai", ordre=90),
        {"libelle": "Essai gratuit"},
        "libellé : « Essai » → « Essai gratuit »",
    ),
    "accounts.PartnerAccount": (
        partner_account,
        {"fonction": "Directrice"},
        "fonction : « Bénévole » → « Directrice »",
    ),
    "accounts.StaffAccount": (
        lambda: AgentFactory(),
        {"telephone": "06 11 22 33 44"},
        "téléphone : « 07.00.00.00.00 » → « 06.11.22.33.44 »",
    ),
    "demandes.DelaiCibleOffre": (
        lambda: DelaiCibleOffre.objects.create(
            organisme=OrganismeFactory(),
            offre=Offre.objects.get(code="rendez-vous"),
            delai_urgent_jours=2,
            delai_jours=10,
        ),
        {"delai_jours": "5"},
        "délai cible des autres demandes (jours ouvrés) : « 10 » → « 5 »",
    ),
    "auth.Group": (
        lambda: Group.objects.create(name="Référents"),
        {"name": "Référents départementaux"},
        "nom : « Référents » → « Référents départementaux »",
    ),
}


def device(model):
    return lambda: model.objects.create(user=AgentFactory(), name="Téléphone")


def access(model, **fields):
    common = {"user_agent": "Firefox", "ip_address": "192.0.2.1", "username": "m.pichon"}
    return lambda: model.objects.create(**common, http_accept="*/*", path_info="/", **fields)


# The libraries' admins, whose objects superusers mostly delete (a lock-out, a lost device).
DELETIONS = {
    "otp_totp.TOTPDevice": device(TOTPDevice),
    "otp_static.StaticDevice": device(StaticDevice),
    "axes.AccessAttempt": access(AccessAttempt, get_data="", post_data="", failures_since_start=5),
    "axes.AccessLog": access(AccessLog),
    "axes.AccessFailureLog": access(AccessFailureLog),
}


def test_every_admin_editable_model_has_an_edit_in_this_test():
    editable = {
        model._meta.label
        for model in admin.site._registry
        if model._meta.label not in READ_ONLY_ADMINS
    }
    assert editable == set(EDITS) | set(DELETIONS) | set(ACTIONS)


@pytest.mark.parametrize("label", sorted(DELETIONS))
def test_a_deletion_through_the_admin_is_in_the_history(superuser_client, label):
    obj = DELETIONS[label]()
    pk = obj.pk

    response = superuser_client.post(admin_url(obj, "delete"), {"post": "yes"})

    assert response.status_code == 302
    assert not type(obj).objects.filter(pk=pk).exists()
    entry = HistoryEntry.objects.get(object_id=str(pk), action=HistoryEntry.Action.DELETION)
    assert entry.by.identifiant == "a.national"
    assert entry.content_type.model_class() is type(obj)


@pytest.mark.parametrize("label", sorted(EDITS))
def test_a_change_through_the_admin_is_in_the_objects_history(superuser_client, label):
    make, changes, line = EDITS[label]
    obj = make()
    model = next(m for m in admin.site._registry if m._meta.label == label)

    change_through_the_admin(superuser_client, obj, model, **changes)

    text = history_text(superuser_client, obj, model)
    assert line in text
    assert "a.national" in text
    entry = HistoryEntry.objects.for_object(obj).get()
    assert entry.by.identifiant == "a.national"
    assert entry.action == HistoryEntry.Action.CHANGE


def test_a_form_saved_without_change_adds_no_line(superuser_client):
    organisme = OrganismeFactory()
    change_through_the_admin(superuser_client, organisme)
    assert not HistoryEntry.objects.for_object(organisme).exists()


def test_a_convention_change_reads_in_french(superuser_client):
    rendez_vous, ouverture = Offre.objects.order_by("ordre")[:2]
    convention = ConventionFactory(
        reference="CONV-2026-001",
        date_debut=datetime.date(2026, 1, 1),
        date_fin=None,
        habilitee=False,
    )
    convention.offres.set([rendez_vous])

    change_through_the_admin(
        superuser_client,
        convention,
        date_fin="31/12/2027",
        habilitee="on",
        offres=[rendez_vous.pk, ouverture.pk],
    )

    text = history_text(superuser_client, convention)
    assert "date de fin : « » → « 31/12/2027 »" in text
    assert "habilitée à recevoir des documents : « Non » → « Oui »" in text
    assert (
        f"offres de service activées : « {rendez_vous.libelle} » → "
        f"« {rendez_vous.libelle}, {ouverture.libelle} »" in text
    )


def test_a_convention_changed_through_its_structure_is_in_both_histories(superuser_client):
    convention = ConventionFactory(reference="CONV-7", max_gestionnaires=2)
    structure = convention.structure
    page = superuser_client.get(admin_url(structure, "change"))
    data = form_data(page)
    data["conventions-0-max_gestionnaires"] = "3"

    response = superuser_client.post(admin_url(structure, "change"), data)

    assert response.status_code == 302
    line = "nombre maximum de gestionnaires actifs : « 2 » → « 3 »"
    assert line in history_text(superuser_client, convention)
    assert line in history_text(superuser_client, structure)


def test_a_creation_through_the_admin_is_in_the_history(superuser_client):
    response = superuser_client.post(
        reverse("admin:organismes_organisme_add"),
        {
            "code": "601",
            "nom": "CPAM DE L'OISE",
            "email_referent": "referent@cpam.example",
            "delai_purge_mois": "6",
            "delai_conservation_demandes_mois": "24",
            "delai_cible_urgent_jours": "2",
            "delai_cible_jours": "10",
        },
    )
    assert response.status_code == 302
    organisme = Organisme.objects.get(code="601")
    entry = HistoryEntry.objects.for_object(organisme).get()
    assert entry.action == HistoryEntry.Action.ADDITION
    assert "nom : « » → « CPAM DE L'OISE »" in history_text(superuser_client, organisme)


# --- Actions --------------------------------------------------------------------------------

# Admins whose change page is read-only: their objects change only through actions, tested here.
ACTIONS = {"inscriptions.PreInscription": "validated or refused by the actions below"}


def test_a_preinscription_validated_or_refused_is_in_the_history(client):
    agent = AgentFactory(identifiant="j.agent")
    validated = PreInscriptionFactory(convention__organisme=agent.organisme)
    refused = PreInscriptionFactory(convention__organisme=agent.organisme)
    log_in_verified(client, agent)

    run_action(client, PreInscription, "valider", [validated])
    run_action(
        client,
        PreInscription,
        "refuser",
        [refused],
        apply="Refuser",
        motif="La référence ne correspond pas",
    )

    assert "statut : « en attente » → « validée »" in history_text(client, validated)
    text = history_text(client, refused)
    assert "statut : « en attente » → « refusée »" in text
    assert "« » → « La référence ne correspond pas »" in text
    structure = validated.convention.structure
    assert "premier gestionnaire créé" in history_text(client, structure)


@pytest.fixture
def agent_and_structure():
    agent = AgentFactory(identifiant="j.agent")
    convention = ConventionFactory(organisme=agent.organisme)
    return agent, convention.structure


def run_action(client, model, action: str, objects, **extra):
    opts = model._meta
    return client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        {"action": action, "_selected_action": [o.pk for o in objects], "index": 0, **extra},
    )


def test_a_suspension_and_its_lifting_keep_the_reason_in_the_history(client, agent_and_structure):
    agent, structure = agent_and_structure
    log_in_verified(client, agent)

    run_action(
        client,
        StructurePartenaire,
        "suspendre",
        [structure],
        apply="Suspendre",
        motif="Suspicion de fraude",
    )
    run_action(client, StructurePartenaire, "lever_suspension", [structure])

    structure.refresh_from_db()
    assert structure.motif_suspension == ""
    lifting, suspension = HistoryEntry.objects.for_object(structure)
    assert suspension.by == agent
    assert lifting.by == agent
    text = history_text(client, structure)
    assert "Suspension de l'accès" in text
    assert "Levée de la suspension" in text
    assert "motif de la suspension : « » → « Suspicion de fraude »" in text
    assert "motif de la suspension : « Suspicion de fraude » → « »" in text


def test_account_actions_are_in_the_accounts_history(client, agent_and_structure):
    agent, structure = agent_and_structure
    GestionnaireFactory(structure=structure)
    gestionnaire = GestionnaireFactory(structure=structure)
    log_in_verified(client, agent)

    run_action(client, PartnerAccount, "inactiver", [gestionnaire])
    run_action(
        client,
        PartnerAccount,
        "reactiver",
        [gestionnaire],
        apply="Réactiver",
        motif="Retour de congé",
    )

    text = history_text(client, gestionnaire, PartnerAccount)
    assert "Inactivation" in text
    assert "actif : « Oui » → « Non »" in text
    assert "Réactivation" in text
    assert "Retour de congé" in text
    assert "j.agent" in text


def test_no_secret_is_ever_in_the_history(superuser_client):
    organisme = OrganismeFactory()
    response = superuser_client.post(
        reverse("admin:accounts_staffaccount_add"),
        {
            "organisme": organisme.pk,
            "civilite": "MME",
            "nom_patronymique": "DURAND",
            "nom_usuel": "",
            "prenom": "Anne",
            "fonction": "Agente",
            "telephone": "01 02 03 04 05",
            "email": "anne.durand@cpam.example",
        },
    )
    assert response.status_code == 302
    account = AgentFactory()
    record(
        by=None,
        obj=account,
        changes={"password": ["old-hash", account.password], "token_hash": ["a", "b"]},
    )

    assert {"password", "token_hash", "nir"} <= SECRET_FIELDS
    for entry in HistoryEntry.objects.all():
        assert not {line["field"] for line in entry.changes} & SECRET_FIELDS
        assert account.password not in str(entry.changes)


def test_the_history_is_append_only():
    entry = record(by=None, obj=OrganismeFactory(), summary="Essai")
    with pytest.raises(TypeError):
        HistoryEntry.objects.update(summary="")
    entry.summary = "autre"
    with pytest.raises(TypeError):
        entry.save()


def test_the_history_page_queries_do_not_grow_with_its_lines(superuser_client):
    organisme = OrganismeFactory()
    by = SuperuserFactory()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            superuser_client.get(admin_url(organisme, "history"))
        return len(captured)

    record(by=by, obj=organisme, changes={"nom": ["A", "B"]})
    few = queries()
    for index in range(30):
        record(by=AgentFactory(), obj=organisme, changes={"nom": [str(index), "B"]})
    assert queries() == few


# --- Item 7: the purge of accounts leaves the history coherent ------------------------------


def test_after_the_purge_the_history_reads_compte_supprime(client, time_machine):
    time_machine.move_to(datetime.datetime(2026, 1, 5, 10, tzinfo=datetime.UTC), tick=False)
    agent = AgentFactory(identifiant="j.agent")
    convention = ConventionFactory(organisme=agent.organisme, date_debut=datetime.date(2025, 1, 1))
    structure = convention.structure
    GestionnaireFactory(structure=structure)
    gestionnaire = GestionnaireFactory(
        structure=structure, prenom="Maryse", nom_patronymique="PICHON"
    )
    technicien = TechnicienFactory(structure=structure, fonction="Bénévole")
    # The gestionnaire changes the structure's phone in the portal; the agent, the technicien.
    structure_services.update_coordonnees(
        by=gestionnaire, structure=structure, data={"telephone": "03.44.99.99.99"}
    )
    account_services.modify_account(
        by=agent, account=technicien, data={"fonction": "Animatrice PICHON"}
    )
    account_services.inactivate_account(by=agent, account=gestionnaire)
    account_services.inactivate_account(by=agent, account=technicien)
    assert gestionnaire.role == Role.GESTIONNAIRE

    time_machine.move_to(datetime.datetime(2026, 9, 1, 2, tzinfo=datetime.UTC), tick=False)
    report = purge_inactive_accounts()
    assert report.accounts_deleted == 2

    # The structure's history keeps the line, its author gone.
    coordonnees = HistoryEntry.objects.for_object(structure).get(by=None)
    assert coordonnees.by is None
    log_in_verified(client, agent)
    text = history_text(client, structure)
    assert "téléphone : « 03.44.00.00.00 » → « 03.44.99.99.99 »" in text
    assert DELETED_ACCOUNT in text
    # The agent's lines about the deleted accounts stay, without anything personal.
    accounts = HistoryEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User),
        object_id__in=[str(technicien.pk), str(gestionnaire.pk)],
    )
    assert accounts.filter(object_id=str(technicien.pk)).exists()
    for entry in accounts:
        assert entry.object_repr == DELETED_ACCOUNT
        assert entry.by == agent
        assert "PICHON" not in str(entry.changes) + entry.reason
        assert "Maryse" not in str(entry.changes)
    # Nothing left names them anywhere in the history.
    for entry in HistoryEntry.objects.all():
        assert "Maryse" not in entry.object_repr + str(entry.changes)
    assert timezone.now().year == 2026


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:organismes_structurepartenaire_changelist",
        "admin:conventions_convention_changelist",
        "admin:accounts_partneraccount_changelist",
    ],
)
def test_the_changelists_read_no_history_and_do_not_grow(superuser_client, changelist):
    def queries_with(count: int) -> list[str]:
        while ConventionFactory._meta.model.objects.count() < count:
            GestionnaireFactory(structure=ConventionFactory().structure)
        with CaptureQueriesContext(connection) as captured:
            assert superuser_client.get(reverse(changelist)).status_code == 200
        return [query["sql"] for query in captured]

    few, more = queries_with(2), queries_with(12)
    assert len(few) == len(more)
    assert not [sql for sql in more if "core_historyentry" in sql]


def test_the_admin_index_lists_my_recent_changes(superuser_client):
    organisme = OrganismeFactory(nom="CPAM DE L'OISE")
    change_through_the_admin(superuser_client, organisme, nom="CPAM DE LA SOMME")

    page = superuser_client.get(reverse("admin:index"))

    text = " ".join(html.unescape(page.content.decode()).split())
    assert "Mes actions" in text
    assert "CPAM DE LA SOMME" in text
