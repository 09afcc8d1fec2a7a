"""Which addresses outgoing requests (URL inputs, webhooks) may reach.

The check runs when each connection opens, on the address actually dialled,
so a redirect or a DNS answer that changes between check and use cannot slip
through to a private, loopback, link-local or multicast address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore

from talkinghead.service.errors import BlockedAddressError, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressPolicy:
    """Refuses non-public addresses unless inside an operator allow-listed network."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self._allow = [ipaddress.ip_network(net, strict=False) for net in allow]

    def is_allowed(self, ip: IPAddress) -> bool:
        """True when ``ip`` may be reached."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in net for net in self._allow):
            return True
        return ip.is_global and not ip.is_multicast

    def resolve(self, host: str, port: int) -> str:
        """Resolve ``host`` and return one allowed address; raise if any answer is refused."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r}: {exc}") from exc
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
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
        """Resolve and vet ``host``, then connect to the vetted address."""
        address = self._policy.resolve(host, port)
        return super().connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                   socket_options=socket_options)


def guarded_pool(policy: AddressPolicy, *, max_connections: int = 20) -> httpcore.ConnectionPool:
    """A connection pool whose every connection goes through ``policy``."""
    return httpcore.ConnectionPool(network_backend=GuardedBackend(policy),
                                   max_connections=max_connections, retries=0)
