from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "Espace Partenaires — administration"
admin.site.site_title = "Espace Partenaires"
admin.site.index_title = "Administration des partenaires"

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("accounts.urls")),
    path("demandes/", include("demandes.urls")),
    path("admin/", admin.site.urls),
]
