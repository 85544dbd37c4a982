"""Who the client is, and how many times it did something: the one limiter of the portal.

The log-in (per client address), "Mot de passe oublié" / "Identifiant oublié" (per client address
and per address typed) and the public forms count here, with django-ratelimit's fixed windows in
the default cache, which production shares between the web processes (Redis: CACHE_URL).
"""

import datetime
import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django_ratelimit.core import get_usage, is_ratelimited

# An IPv6 subscriber is given a whole /64 network: counted per address, a new address per try
# would escape every limit.
IPV6_NETWORK_PREFIX = 64


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, the TRUSTED_PROXY_COUNT-th from the right of X-Forwarded-For.

    Each trusted proxy appends the address it received the request from, so the addresses to
    the left of that one were written by the client and prove nothing. With no proxy (0, the
    default), the header is the client's own writing: only the connection's address counts.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
        if len(addresses) >= count:
            return addresses[-count]
    return request.META.get("REMOTE_ADDR")


def client_key(request: HttpRequest) -> str:
    """What the limits per client count: its IPv4 address, or its IPv6 /64 network."""
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "inconnue"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1, a dual-stack socket's IPv4
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_NETWORK_PREFIX}", strict=False))
    return str(parsed)


def over_limit(request: HttpRequest, *, group: str, rate: str, key: str | None = None) -> bool:
    """Count this request for `key` (default: the client) in `group`; True when it goes beyond
    `rate` ("count/period", the period in s, m, h or d)."""
    return is_ratelimited(
        request,
        group=group,
        key=_fixed(key if key is not None else client_key(request)),
        rate=rate,
        increment=True,
    )


def blocked_until(
    request: HttpRequest, *, group: str, rate: str, key: str | None = None
) -> datetime.datetime | None:
    """When the limit that `key` (default: the client) has used up in `group` lifts; None while
    one more is allowed. Counts nothing: what counts is counted with over_limit."""
    usage = get_usage(
        request,
        group=group,
        key=_fixed(key if key is not None else client_key(request)),
        rate=rate,
        increment=False,
    )
    # A cache that does not answer gives a limit of 0: refused (django-ratelimit fails closed).
    if usage is None or usage["count"] < usage["limit"]:
        return None
    return timezone.now() + datetime.timedelta(seconds=max(usage["time_left"], 1))


def _fixed(value: str):
    return lambda _group, _request: value
