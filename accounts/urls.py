from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import path, reverse_lazy
from django.views.generic import TemplateView

from . import tasks
from .views import aide, reviews, second_factor, sign_in, structure, techniciens

app_name = "accounts"


def public_page(template_name: str):
    return login_not_required(TemplateView.as_view(template_name=template_name))


urlpatterns = [
    # Sign-in and account security
    path("connexion/", sign_in.LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    # Second factor of agents and superusers (SPEC §10)
    path("connexion/second-facteur/", second_factor.VerifyView.as_view(), name="second_factor"),
    path(
        "connexion/second-facteur/activer/",
        second_factor.EnrolView.as_view(),
        name="second_factor_enrol",
    ),
    path(
        "connexion/second-facteur/codes-de-secours/",
        second_factor.RecoveryCodesView.as_view(),
        name="recovery_codes",
    ),
    # Passkeys (django-otp-webauthn's ceremonies): register/verify, begin/complete.
    *(
        path(f"connexion/cle-d-acces/{ceremony}/{step}/", view.as_view(), name=name)
        for ceremony, step, view, name in (
            (
                "enregistrement",
                "debut",
                second_factor.PasskeyRegisterBegin,
                "passkey_register_begin",
            ),
            (
                "enregistrement",
                "fin",
                second_factor.PasskeyRegisterComplete,
                "passkey_register_complete",
            ),
            ("verification", "debut", second_factor.PasskeyVerifyBegin, "passkey_verify_begin"),
            ("verification", "fin", second_factor.PasskeyVerifyComplete, "passkey_verify_complete"),
        )
    ),
    path("invitation/<str:token>/", sign_in.InvitationView.as_view(), name="invitation"),
    path("mot-de-passe/", sign_in.PasswordChangeView.as_view(), name="password_change"),
    path(
        "mot-de-passe-oublie/",
        sign_in.EmailRequestView.as_view(
            template_name="accounts/password_reset_request.html",
            success_url=reverse_lazy("accounts:password_reset_done"),
            task=tasks.forgotten_password,
        ),
        name="password_reset",
    ),
    path(
        "mot-de-passe-oublie/envoye/",
        public_page("accounts/request_sent.html"),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe-oublie/<uidb64>/<token>/",
        sign_in.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe-oublie/termine/",
        public_page("accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path(
        "identifiant-oublie/",
        sign_in.EmailRequestView.as_view(
            template_name="accounts/identifiant_request.html",
            success_url=reverse_lazy("accounts:identifiant_oublie_done"),
            task=tasks.forgotten_identifiant,
        ),
        name="identifiant_oublie",
    ),
    path(
        "identifiant-oublie/envoye/",
        public_page("accounts/request_sent.html"),
        name="identifiant_oublie_done",
    ),
    path("cgu/", login_not_required(sign_in.CguView.as_view()), name="cgu"),
    path("organisme/", sign_in.OrganismeSelectionView.as_view(), name="organisme_selection"),
    # The user manual, per role (public)
    path("aide/", aide.index, name="aide"),
    path("aide/<slug:role>/", aide.manual, name="aide_manual"),
    # Gestion des comptes (gestionnaires)
    path("comptes/", techniciens.technicien_list, name="techniciens"),
    path("comptes/ajouter/", techniciens.technicien_create, name="technicien_create"),
    path("comptes/export.csv", techniciens.accounts_export, name="accounts_export"),
    path("comptes/<int:pk>/modifier/", techniciens.technicien_modify, name="technicien_modify"),
    path(
        "comptes/<int:pk>/inactiver/",
        techniciens.technicien_inactivate,
        name="technicien_inactivate",
    ),
    path(
        "comptes/<int:pk>/reactiver/",
        techniciens.technicien_reactivate,
        name="technicien_reactivate",
    ),
    path(
        "comptes/<int:pk>/renvoyer-invitation/",
        techniciens.technicien_resend_invitation,
        name="technicien_resend_invitation",
    ),
    path("comptes/<int:pk>/historique/", techniciens.technicien_history, name="technicien_history"),
    path(
        "comptes/revue-des-habilitations/",
        reviews.habilitation_review,
        name="habilitation_review",
    ),
    # Ma structure (gestionnaires)
    path("ma-structure/", structure.ma_structure, name="ma_structure"),
]
