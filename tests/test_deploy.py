"""SPEC §9, issue 16 item 2: the production edge as docker-compose.yml and .env.example write it.
Only the proxy is reachable from outside; only the stack's web service trusts one proxy's
X-Forwarded-For; and the proxy lets through the largest request the portal accepts. The proxy
itself runs in tests/test_proxy.py."""

import re
from pathlib import Path

import yaml
from django.conf import settings

from tests.test_production_defaults import PRODUCTION, manage

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
MIB = 1024 * 1024


def test_only_the_proxy_is_published_and_gunicorn_is_reached_through_it():
    published = {name for name, service in SERVICES.items() if service.get("ports")}

    assert published == {"proxy"}
    assert {port.split("/")[0] for port in SERVICES["proxy"]["ports"]} == {"80:80", "443:443"}
    assert SERVICES["proxy"]["image"] == "caddy:2"
    assert SERVICES["web"]["expose"] == ["8000"]
    assert SERVICES["proxy"]["environment"]["UPSTREAM_HOST"] == "web"
    assert SERVICES["proxy"]["environment"]["UPSTREAM_PORT"] == "8000"


def test_the_proxy_runs_the_repository_s_caddyfile():
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in SERVICES["proxy"]["volumes"]}

    assert mounts["/etc/caddy/Caddyfile"] == "./deploy/Caddyfile"
    assert (ROOT / "deploy" / "Caddyfile").is_file()


def test_only_the_web_service_behind_the_proxy_trusts_one_proxy():
    trusting = {
        name: service["environment"]["TRUSTED_PROXY_COUNT"]
        for name, service in SERVICES.items()
        if "TRUSTED_PROXY_COUNT" in service.get("environment", {})
    }

    assert trusting == {"web": "1"}
    assert SERVICES["web"]["environment"]["BEHIND_TLS_PROXY"] == "true"


def test_env_example_trusts_no_proxy():
    """The compose file sets 1 for its web service; a .env copied elsewhere must not trust a
    header that anyone can write when gunicorn is reached directly."""
    lines = (ROOT / ".env.example").read_text().splitlines()

    assert not [line for line in lines if re.match(r"\s*TRUSTED_PROXY_COUNT\s*=\s*[1-9]", line)]


def test_the_settings_trust_no_proxy_by_default():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.TRUSTED_PROXY_COUNT)",
        **PRODUCTION,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def caddyfile_default_body_limit() -> str:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    return re.search(r"max_size \{\$MAX_REQUEST_BODY:(\d+)MiB\}", caddyfile).group(1) + "MiB"


def test_the_proxy_lets_through_the_largest_request_the_portal_accepts():
    """A demande with all its attachments at their largest, and its form fields."""
    largest = (
        settings.ATTACHMENTS_MAX_FILES * settings.ATTACHMENTS_MAX_SIZE_MB * MIB
        + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )
    default = caddyfile_default_body_limit()

    assert largest < int(default.removesuffix("MiB")) * MIB <= largest + 5 * MIB
    compose_default = SERVICES["proxy"]["environment"]["MAX_REQUEST_BODY"]
    assert compose_default == f"${{MAX_REQUEST_BODY:-{default}}}"


def test_every_variable_the_settings_read_is_documented_in_env_example():
    """An operator learns the settings from .env.example (SPEC §9): a variable read by
    settings.py and missing there is a setting nobody knows of."""
    read = set(
        re.findall(
            r'env(?:\.[a-z]+)?\(\s*"([A-Z][A-Z0-9_]*)"',
            (ROOT / "espace_partenaires" / "settings.py").read_text(),
        )
    )
    documented = (ROOT / ".env.example").read_text()

    assert len(read) > 50
    assert sorted(name for name in read if name not in documented) == []


def cache_of(**environment: str) -> str:
    production = {name: value for name, value in PRODUCTION.items() if name != "CACHE_URL"}
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; c = s.CACHES['default']; "
        "print(c['BACKEND'], c.get('LOCATION', ''))",
        **production,
        **environment,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_with_redis_url_alone_every_node_shares_a_redis_cache_apart_from_the_broker():
    """Issue 20, item 6: the rate limits and the anti-robot single use are shared between nodes
    with the one Redis setting an operator gives the broker (tests/test_nodes.py runs it)."""
    redis_cache = "django.core.cache.backends.redis.RedisCache"

    assert cache_of(REDIS_URL="redis://redis:6379/0") == f"{redis_cache} redis://redis:6379/1"
    assert (
        cache_of(REDIS_URL="rediss://:pw@redis:6380/4")
        == f"{redis_cache} rediss://:pw@redis:6380/5"
    )
    assert cache_of(REDIS_URL="redis://redis:6379") == f"{redis_cache} redis://redis:6379/1"
    assert cache_of(REDIS_URL="redis://redis:6379/0", CACHE_URL="redis://cache:6379/2") == (
        f"{redis_cache} redis://cache:6379/2"
    )
    assert cache_of() == "django.core.cache.backends.locmem.LocMemCache"


def test_the_web_service_scales_out_behind_the_proxy():
    """Issue 20, item 6: `docker compose up --scale web=3`. Replicas cannot share a container
    name or a host port; the proxy asks the DNS for every address of the name `web`, again and
    again, rather than for one address once."""
    assert "container_name" not in SERVICES["web"]
    assert "ports" not in SERVICES["web"]
    assert not [name for name, service in SERVICES.items() if "container_name" in service]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    dynamic = re.search(r"dynamic a \{\s+name (\S+)\s+port (\S+)\s+refresh (\d+)s\s", caddyfile)
    assert dynamic.groups()[:2] == ("{$UPSTREAM_HOST:web}", "{$UPSTREAM_PORT:8000}")
    assert int(dynamic.group(3)) <= 10
    assert re.search(r"^\s*lb_try_duration \d+s$", caddyfile, re.M)


def test_the_attachments_are_in_the_stack_s_object_storage_for_every_replica():
    storage, web = SERVICES["storage"], SERVICES["web"]

    assert storage["image"].startswith("chrislusf/seaweedfs:")
    assert storage["expose"] == ["8333"] and "ports" not in storage
    assert [volume.split(":")[1] for volume in storage["volumes"]] == ["/data"]
    # Its one identity is the portal's.
    assert storage["environment"]["AWS_ACCESS_KEY_ID"].startswith("${S3_ACCESS_KEY:?")
    assert storage["environment"]["AWS_SECRET_ACCESS_KEY"].startswith("${S3_SECRET_KEY:?")
    for name in ("web", "worker", "beat", "migrate", "storage-init"):
        environment = SERVICES[name]["environment"]
        assert environment["ATTACHMENTS_STORAGE"] == "s3", name
        assert environment["S3_ENDPOINT_URL"] == "${S3_ENDPOINT_URL:-http://storage:8333}", name
    # The bucket exists before a replica starts.
    assert SERVICES["storage-init"]["command"][:3] == [
        "python",
        "manage.py",
        "create_attachments_bucket",
    ]
    assert web["depends_on"]["storage-init"] == {"condition": "service_completed_successfully"}


def test_there_is_one_celery_beat():
    """Each beat sends every scheduled job: two would run each daily job twice."""
    beats = [name for name, service in SERVICES.items() if "beat" in service.get("command", [])]

    assert beats == ["beat"]
    assert "deploy" not in SERVICES["beat"]  # no replicas count for it
