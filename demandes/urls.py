from django.urls import path

from . import views

app_name = "demandes"

urlpatterns = [
    path("", views.demande_list, name="list"),
    path("nouvelle/", views.demande_choose, name="choose"),
    path("nouvelle/<slug:offre_code>/", views.demande_create, name="create"),
    path("<int:pk>/", views.demande_detail, name="detail"),
    path("<int:pk>/complement/", views.demande_complement, name="complement"),
    path("<int:pk>/message/", views.demande_message, name="message"),
    path("pieces/<int:pk>/", views.piece_download, name="piece"),
]
