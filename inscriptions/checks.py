from django.conf import settings
from django.core import checks

# Backends whose counters are per process or not atomic: django-ratelimit and altcha-django's
# replay protection would then let through far more than intended.
UNSHARED_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.db.DatabaseCache",
}


@checks.register(checks.Tags.security, checks.Tags.caches, deploy=True)
def shared_cache(app_configs, **kwargs):
    """The public forms' rate limits and anti-robot single use need a shared, atomic cache."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend in UNSHARED_CACHES:
        return [
            checks.Warning(
                f"The default cache ({backend}) is not shared by the web processes: the rate "
                "limits of the pré-inscription and contact pages, and the single use of their "
                "anti-robot challenges, would hold per process only.",
                hint="Set CACHE_URL=redis://…/1 (a Redis database the broker does not use).",
                id="inscriptions.W001",
            )
        ]
    return []
