"""Where a webhook may point: public addresses only, unless an admin allows a network.

A webhook URL is chosen by a user but fetched by LEAP's own machine, so without a check any user could
make LEAP POST into its private network (a metadata service on 169.254.169.254, a database admin page on
127.0.0.1). Every address the host name resolves to must be public, or inside one of the networks an
admin lists in `LEAP_WEBHOOK_ALLOWED_NETWORKS` (CIDRs, comma-separated). The check runs when the URL is
saved and again before each delivery, and the delivery then connects to the very address that was
checked (`pinned`: the Host header and TLS server name stay the URL's), so a name re-pointed at a
private address between the check and the connection (DNS rebinding) cannot redirect the POST.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

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


@dataclass(frozen=True)
class Pinned:
    """A checked URL rewritten to one of its checked addresses, with what the server must still see."""

    url: str
    host_header: str
    server_name: str | None
    """The TLS server name (and the name the certificate is checked against); None for plain http."""


def check_webhook_url(url: str, allowed: Sequence[Network] = ()) -> str:
    """The URL, if every address it reaches is public or allowed; else a ValidationError saying which."""
    _checked(url, allowed)
    return url.strip()


def pinned(url: str, allowed: Sequence[Network] = ()) -> Pinned:
    """Check `url` and return it aimed at the first checked address, for the connection itself."""
    parts, port, addresses = _checked(url, allowed)
    address = addresses[0]
    host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    target = parts._replace(netloc=f"{host}:{port}").geturl()
    return Pinned(target, parts.netloc.rsplit("@", 1)[-1],
                  parts.hostname if parts.scheme == "https" else None)


def _checked(url: str, allowed: Sequence[Network]) -> tuple[SplitResult, int, list[Address]]:
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
    addresses = resolve(parts.hostname, port)
    for address in addresses:
        reason = _why_internal(address)
        if reason is not None and not any(address in network for network in allowed):
            raise ValidationError(
                f"webhook address {address} is {reason}: refused (an admin may allow the network "
                "with LEAP_WEBHOOK_ALLOWED_NETWORKS)")
    if not addresses:
        raise ValidationError(f"webhook host {parts.hostname!r} does not resolve")
    return parts, port, addresses
