from django.core import checks
from django.test import override_settings

from inscriptions.checks import shared_cache

REDIS_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
    }
}


def test_check_deploy_warns_when_the_cache_is_not_shared_by_the_web_processes(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    [warning] = shared_cache(None)

    assert warning.id == "inscriptions.W001"
    assert warning.level == checks.WARNING


def test_no_warning_with_redis():
    # The check reads the settings only: no Redis server is dialled. The settings are restored
    # inside the test, before the directory's fixture clears the (then local) cache.
    with override_settings(CACHES=REDIS_CACHE):
        assert shared_cache(None) == []
