from django.urls import path

from . import views

app_name = "inscriptions"

urlpatterns = [
    path("pre-inscription/", views.preinscription, name="preinscription"),
    path(
        "pre-inscription/envoyee/",
        views.preinscription_envoyee,
        name="preinscription_envoyee",
    ),
    path("contact/", views.contact, name="contact"),
    path("contact/envoye/", views.contact_envoye, name="contact_envoye"),
]
