from django.urls import path

from . import views

app_name = "demandes"

urlpatterns = [
    path("pieces/<int:pk>/", views.piece_download, name="piece"),
]
