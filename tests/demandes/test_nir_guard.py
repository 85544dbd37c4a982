"""The NIR guard on the history's search (issue 16, item 1): a NIR typed in the search box is
refused next to it and not searched for. (The demande's own fields, the complement and the fund's
messages are tested with their pages: test_portal.py, test_admin.py.)"""

import pytest
from django.urls import reverse

from tests.factories import TechnicienFactory
from tests.helpers import assert_nir_refused_next_to, make_demande, with_all_offres

pytestmark = pytest.mark.django_db


def test_a_search_for_a_nir_is_refused_and_ignored(client):
    convention = with_all_offres()
    technicien = TechnicienFactory(structure=convention.structure)
    demande = make_demande(technicien, convention)
    client.force_login(technicien)
    client.get(reverse("accounts:organisme_selection"))

    response = client.get(reverse("demandes:list"), {"q": "1 85 05 78 006 084\u00a036"})

    assert_nir_refused_next_to(response, "q", context_name="filters")
    assert demande.reference in response.text  # the wrong filter is shown and ignored
