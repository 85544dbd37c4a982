"""Logged-in sessions made directly in the session store, for the page and load benchmarks.

What the log-in page and the organisme selection would leave in the session: the user's id,
backend and password hash (django.contrib.auth), the device an agent gave as second factor
(django-otp), and the selected organisme (accounts.middleware).
No password is checked, so django-axes counts nothing and locks nobody out.
"""

import datetime

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db.models import Q
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.cgu import CGU_VERSION
from accounts.middleware import SESSION_ORGANISME_KEY
from accounts.models import Role, User
from accounts.second_factor import requires_second_factor
from accounts.selection import organisme_choices


def usable_partners(role: str = Role.TECHNICIEN):
    """Partners who pass the middleware's checks today: active, CGU of today, password set and
    not about to expire during the run."""
    fresh = timezone.now() - datetime.timedelta(days=settings.PASSWORD_MAX_AGE_DAYS - 2)
    return (
        User.objects.filter(role=role, is_active=True, cgu_version=CGU_VERSION)
        .filter(password_changed_at__gt=fresh)
        .exclude(Q(password="") | Q(password__startswith="!"))  # noqa: S106 (unusable)
    )


def session_for(user: User, organisme_id: int | None = None) -> str:
    """A session key of `user` logged in, with this organisme (else the first available)."""
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if requires_second_factor(user):
        device, _created = TOTPDevice.objects.get_or_create(
            user=user, name="Banc d'essai", defaults={"confirmed": True}
        )
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    if user.is_partner:
        if organisme_id is None:
            choices = organisme_choices(user.structure)
            organisme_id = choices[0].organisme.pk if choices else None
        if organisme_id is not None:
            store[SESSION_ORGANISME_KEY] = organisme_id
    store.create()
    return store.session_key
