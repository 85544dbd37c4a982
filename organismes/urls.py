from django.urls import path

from . import views

app_name = "organismes"

urlpatterns = [
    path("ma-structure/", views.ma_structure, name="ma_structure"),
]
