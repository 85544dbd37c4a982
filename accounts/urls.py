from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.generic import TemplateView

from . import views

app_name = "accounts"


def public_page(template_name: str):
    return login_not_required(TemplateView.as_view(template_name=template_name))


urlpatterns = [
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("invitation/<str:token>/", views.InvitationView.as_view(), name="invitation"),
    path("mot-de-passe/", views.PasswordChangeView.as_view(), name="password_change"),
    path("mot-de-passe-oublie/", views.PasswordResetRequestView.as_view(), name="password_reset"),
    path(
        "mot-de-passe-oublie/envoye/",
        public_page("accounts/request_sent.html"),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe-oublie/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe-oublie/termine/",
        public_page("accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("identifiant-oublie/", views.IdentifiantReminderView.as_view(), name="identifiant_oublie"),
    path(
        "identifiant-oublie/envoye/",
        public_page("accounts/request_sent.html"),
        name="identifiant_oublie_done",
    ),
    path("cgu/", login_not_required(views.CguView.as_view()), name="cgu"),
    path("organisme/", views.OrganismeSelectionView.as_view(), name="organisme_selection"),
    path("aide/", views.aide, name="aide"),
]
