"""Which addresses outgoing requests (URL inputs, webhooks) may reach.

The check runs when each connection opens, on the address actually dialled,
so a redirect or a DNS answer that changes between check and use cannot slip
through to a private, loopback, link-local or multicast address.

IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
``::a.b.c.d``, SIIT ``::ffff:0:a.b.c.d``, NAT64 ``64:ff9b::/96`` and 6to4 ``2002::/16``)
are judged by the IPv4 address inside them; local-use NAT64 ``64:ff9b:1::/48`` is refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore

from talkinghead.service.errors import BlockedAddressError, FetchError
from talkinghead.service.pacing import PacedStream

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIIT = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, SIIT, NAT64, 6to4)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _SIIT or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


class AddressPolicy:
    """Refuses non-public addresses unless inside an operator allow-listed network."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self._allow = [ipaddress.ip_network(net, strict=False) for net in allow]

    def is_allowed(self, ip: IPAddress) -> bool:
        """True when ``ip`` may be reached."""
        if any(ip in net for net in self._allow):
            return True
        if isinstance(ip, ipaddress.IPv6Address):
            if ip in _NAT64_LOCAL:
                return False
            embedded = embedded_ipv4(ip)
            if embedded is not None:
                return self.is_allowed(embedded)
        return ip.is_global and not ip.is_multicast

    def resolve(self, host: str, port: int) -> str:
        """Resolve ``host`` and return one allowed address; raise if any answer is refused."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r}: {exc}") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        refused = [a for a in addresses if not self.is_allowed(a)]
        if refused or not addresses:
            raise BlockedAddressError(
                f"{host!r} resolves to {refused[0] if refused else 'nothing'}, a private, "
                "loopback, link-local or multicast address; only public addresses can be "
                "fetched (an operator can allow networks with TALKINGHEAD_FETCH_ALLOW)"
            )
        return str(addresses[0])


class GuardedBackend(httpcore.SyncBackend):
    """httpcore network backend that dials only addresses the policy allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        """Resolve and vet ``host``, then connect to the vetted address.

        The stream's reads obey the deadline and rate of the caller's ``pacing.Transfer``.
        """
        address = self._policy.resolve(host, port)
        return PacedStream(super().connect_tcp(address, port, timeout=timeout,
                                               local_address=local_address,
                                               socket_options=socket_options))


def guarded_pool(policy: AddressPolicy, *, max_connections: int = 20) -> httpcore.ConnectionPool:
    """A connection pool whose every connection goes through ``policy`` and is paced."""
    return httpcore.ConnectionPool(network_backend=GuardedBackend(policy),
                                   max_connections=max_connections, retries=0)
