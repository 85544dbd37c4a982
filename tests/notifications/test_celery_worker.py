"""The e-mail tasks through a real Celery worker, on an in-memory broker and on a real Redis.

Everywhere else the tests run tasks eagerly; this one proves that the message really crosses a
broker after the commit and that a worker thread sends the e-mail and records it.
"""

import pytest
from django.core import mail

from accounts import services
from accounts.models import Role
from espace_partenaires.celery import app
from notifications.models import SentEmail
from tests.factories import ConventionFactory, GestionnaireFactory
from tests.helpers import wait_for


@pytest.mark.django_db(transaction=True)
def test_an_invitation_is_sent_by_a_real_worker_after_commit(real_worker):
    assert app.conf.broker_url.split(":")[0] in ("redis", "memory")
    convention = ConventionFactory()
    gestionnaire = GestionnaireFactory(structure=convention.structure)

    technicien = services.create_partner_account(
        by=gestionnaire,
        role=Role.TECHNICIEN,
        structure=convention.structure,
        organisme=convention.organisme,
        data={
            "civilite": "MME",
            "nom_patronymique": "PICHON",
            "nom_usuel": "",
            "prenom": "Maryse",
            "fonction": "Bénévole",
            "telephone": "07.00.00.00.00",
            "email": "maryse.pichon@partenaire.example",
        },
    )

    def sent() -> bool:
        return SentEmail.objects.filter(account=technicien, status=SentEmail.Status.SENT).exists()

    assert wait_for(sent), "the worker did not send the invitation"
    message = next(m for m in mail.outbox if m.to == ["maryse.pichon@partenaire.example"])
    assert message.subject == "Bienvenue sur Espace Partenaires"
    assert "Bonjour Maryse PICHON" in message.body
    assert "m.pichon" in message.body
    assert "/invitation/" in message.body
