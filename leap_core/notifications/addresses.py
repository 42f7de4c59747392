"""Where a webhook may point: public addresses only, unless an admin allows a network.

A webhook URL is chosen by a user but fetched by LEAP's own machine, so without a check any user could
make LEAP POST into its private network (a metadata service on 169.254.169.254, a database admin page on
127.0.0.1). Every address the host name resolves to must be public, or inside one of the networks an
admin lists in `LEAP_WEBHOOK_ALLOWED_NETWORKS` (CIDRs, comma-separated). The check runs when the URL is
saved and again before each delivery, so a name that is later re-pointed at a private address is
refused then too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from leap_core.errors import ValidationError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
URL_LIMIT = 2048


def allowed_networks(setting: str) -> list[Network]:
    """`LEAP_WEBHOOK_ALLOWED_NETWORKS` parsed; a bad entry is a configuration error, said by name."""
    networks: list[Network] = []
    for entry in (e.strip() for e in setting.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValidationError(
                f"LEAP_WEBHOOK_ALLOWED_NETWORKS: {entry!r} is not a network (e.g. 10.0.0.0/8)") from None
    return networks


def _why_internal(address: Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for reason, flag in (("loopback", address.is_loopback), ("link-local", address.is_link_local),
                         ("unspecified", address.is_unspecified), ("multicast", address.is_multicast),
                         ("private", address.is_private), ("reserved", address.is_reserved)):
        if flag:
            return reason
    return None


def resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ValidationError(f"webhook host {host!r} does not resolve") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))


def check_webhook_url(url: str, allowed: Sequence[Network] = ()) -> str:
    """The URL, if every address it reaches is public or allowed; else a ValidationError saying which."""
    url = url.strip()
    if len(url) > URL_LIMIT:
        raise ValidationError(f"a webhook URL may be at most {URL_LIMIT} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError("a webhook URL must start with https:// (or http://) and name a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError("the webhook URL's port is not a number from 0 to 65535") from None
    for address in resolve(parts.hostname, port):
        reason = _why_internal(address)
        if reason is not None and not any(address in network for network in allowed):
            raise ValidationError(
                f"webhook address {address} is {reason}: refused (an admin may allow the network "
                "with LEAP_WEBHOOK_ALLOWED_NETWORKS)")
    return url
