"""Password-expiry reminder (SPEC §6): 15 days before, once per password."""

import pytest
from django.conf import settings
from django.core import mail

from accounts.jobs import remind_password_expiry
from accounts.models import User
from accounts.services import record_new_password
from tests.factories import AgentFactory, GestionnaireFactory, TechnicienFactory

from .conftest import paris, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def policy(settings):
    settings.PASSWORD_MAX_AGE_DAYS = 365
    settings.PASSWORD_EXPIRY_REMINDER_DAYS = 15


@pytest.fixture
def technicien():
    # The password expires on 20 May 2026 at 10:00.
    return TechnicienFactory(
        prenom="Maryse",
        nom_patronymique="PICHON",
        identifiant="m.pichon",
        email="maryse@ccas.fr",
        password_changed_at=paris(2025, 5, 20, 10, 0),
    )


def test_16_days_before_the_expiry_nobody_is_reminded(now, technicien, on_commit):
    now(2026, 5, 4, 9, 0)
    with on_commit():
        assert remind_password_expiry().reminders == 0
    assert mail.outbox == []


def test_15_days_before_the_expiry_the_owner_is_reminded_with_the_date_and_a_link(
    now, technicien, on_commit
):
    now(2026, 5, 5, 10, 0)
    with on_commit():
        assert remind_password_expiry().reminders == 1

    [message] = mail.outbox
    assert message.to == ["maryse@ccas.fr"]
    assert message.subject == "Espace Partenaires : votre mot de passe expire le 20 mai 2026"
    assert "Bonjour Maryse PICHON," in message.body
    assert "(m.pichon) expire le 20 mai 2026" in message.body
    link = f"{settings.SITE_URL}/mot-de-passe/"
    assert link in message.body
    assert f'href="{link}"' in message.alternatives[0].content
    technicien.refresh_from_db()
    assert technicien.expiry_reminder_sent_for == paris(2025, 5, 20, 10, 0)


def test_the_reminder_is_sent_once_per_password(now, technicien, on_commit):
    now(2026, 5, 5, 10, 0)
    with on_commit():
        remind_password_expiry()
    state = snapshot()
    for day in (6, 10, 19):
        now(2026, 5, day, 8, 0)
        with on_commit():
            assert remind_password_expiry().reminders == 0
    assert len(mail.outbox) == 1
    assert snapshot() == state


def test_a_new_password_gets_its_own_reminder(now, technicien, on_commit):
    now(2026, 5, 5, 10, 0)
    with on_commit():
        remind_password_expiry()
    now(2026, 5, 10, 14, 0)
    record_new_password(User.objects.get(pk=technicien.pk), "Un-Autre-Mot-De-Passe-43")
    with on_commit():
        assert remind_password_expiry().reminders == 0

    now(2027, 4, 25, 14, 0)  # 15 days before 10 May 2027
    with on_commit():
        assert remind_password_expiry().reminders == 1
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject.endswith("expire le 10 mai 2027")


def test_who_is_not_reminded(now, on_commit):
    changed = paris(2025, 5, 20, 10, 0)
    reminded = [
        GestionnaireFactory(password_changed_at=changed, email="g@ccas.fr"),
        AgentFactory(password_changed_at=changed, email="agent@cpam.fr"),
    ]
    TechnicienFactory(
        password_changed_at=changed,
        is_active=False,
        inactivated_at=paris(2026, 1, 1, 9),
        email="inactive@ccas.fr",
    )
    invited = TechnicienFactory(password_changed_at=changed, email="invited@ccas.fr")
    invited.set_unusable_password()
    invited.save(update_fields=["password"])
    TechnicienFactory(password_changed_at=paris(2025, 5, 1, 10, 0), email="expired@ccas.fr")
    TechnicienFactory(password_changed_at=paris(2025, 9, 1, 10, 0), email="later@ccas.fr")

    now(2026, 5, 10, 10, 0)
    with on_commit():
        remind_password_expiry()

    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        account.email for account in reminded
    )


def test_an_address_reported_as_bounced_gets_no_reminder(now, technicien, on_commit):
    technicien.email_invalid_at = paris(2026, 4, 1, 9, 0)
    technicien.save(update_fields=["email_invalid_at"])
    now(2026, 5, 5, 10, 0)
    with on_commit():
        assert remind_password_expiry().reminders == 0
    assert mail.outbox == []
