"""The three main jobs through a real Celery worker, on an in-memory broker and on a real Redis.

Elsewhere the jobs are called directly; this proves that their tasks are registered under the
names the beat schedule sends, cross a broker and do their work in a worker's own connection.
"""

import datetime

import pytest
from django.utils import timezone

from accounts import tasks as accounts_tasks
from accounts.models import User
from conventions.models import Convention
from espace_partenaires.celery import app
from notifications.models import SentEmail
from organismes.models import StructureEvent
from tests.factories import (
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    TechnicienFactory,
)
from tests.helpers import wait_for


@pytest.mark.django_db(transaction=True)
def test_the_main_jobs_do_their_work_through_a_real_worker(real_worker):
    assert app.conf.broker_url.split(":")[0] in ("redis", "memory")
    today = timezone.localdate()
    organisme = OrganismeFactory(email_referent="referent@cpam.example")
    ended = ConventionFactory(
        organisme=organisme,
        date_debut=today - datetime.timedelta(days=400),
        date_fin=today - datetime.timedelta(days=1),
    )
    to_inactivate = [
        GestionnaireFactory(structure=ended.structure),
        TechnicienFactory(structure=ended.structure),
    ]
    ending = ConventionFactory(
        organisme=organisme,
        date_debut=today - datetime.timedelta(days=300),
        date_fin=today + datetime.timedelta(days=10),
    )
    to_warn = GestionnaireFactory(structure=ending.structure, email="gestionnaire@ccas.example")
    purged = TechnicienFactory(
        structure=StructureFactory(),
        is_active=False,
        inactivated_at=timezone.now() - datetime.timedelta(days=400),
    )

    accounts_tasks.end_conventions.delay()
    accounts_tasks.warn_convention_ends.delay()
    accounts_tasks.purge_inactive_accounts.delay()

    def done() -> bool:
        return (
            not User.objects.filter(pk__in=[a.pk for a in to_inactivate], is_active=True).exists()
            and Convention.objects.filter(pk=ending.pk, end_warning_sent_for__isnull=False).exists()
            and not User.objects.filter(pk=purged.pk).exists()
            and SentEmail.objects.filter(status=SentEmail.Status.SENT).count() == 2
        )

    assert wait_for(done), "the worker did not run the three jobs and send their e-mails"
    assert Convention.objects.get(pk=ended.pk).end_processed_at is not None
    assert set(StructureEvent.objects.values_list("structure_id", "kind")) == {
        (ended.structure_id, StructureEvent.Kind.CONVENTION_ENDED),
        (purged.structure_id, StructureEvent.Kind.ACCOUNTS_PURGED),
    }
    assert set(SentEmail.objects.values_list("recipient", "template", "status")) == {
        ("gestionnaire@ccas.example", "conventions/fin_proche", SentEmail.Status.SENT),
        ("referent@cpam.example", "conventions/fin_proche_referent", SentEmail.Status.SENT),
    }
    assert User.objects.get(pk=to_warn.pk).is_active
