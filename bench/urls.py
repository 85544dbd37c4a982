"""The portal's URLconf and the floors (bench/floors.py), for the benchmarks only."""

from django.urls import include, path

from bench import floors

urlpatterns = [
    path(floors.FLOOR_BARE[1:], floors.trivial),
    path(floors.FLOOR_MIDDLEWARE[1:], floors.trivial),
    path(floors.FLOOR_TEMPLATE[1:], floors.small_template),
    path("", include("espace_partenaires.urls")),
]
