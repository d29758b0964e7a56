"""The outbound policy: which addresses a fetch may reach, and connections pinned to the address checked.

A host is resolved once, in the connection itself; every address it resolves to is classified with the
standard `ipaddress` module (IPv4-mapped, NAT64 and 6to4 IPv6 addresses by the IPv4 address inside);
the socket then connects to one of exactly those addresses. There is no second lookup for a rebinding
DNS server to answer differently. TLS keeps the host name for SNI and the certificate check, and the
Host header is the URL's, because urllib3 still believes it talks to the host name.

Numeric host forms (`2130706433`, `0x7f000001`, `127.1`, `0177.0.0.1`) need no special parsing: the
resolver turns them into the address they mean, and that address is what is checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_HINT = ("feedpipe never fetches internal addresses unless [fetch] allow_private_addresses = true "
              "or --allow-private-addresses")

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(Exception):  # noqa: N818 - not an OSError on purpose: urllib3 must not retry or wrap it
    """A host resolved to an address the policy refuses; raised from inside the connection."""

    def __init__(self, host: str, address: IPAddress, kind: str) -> None:
        self.host = host
        self.address = address
        self.kind = kind
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        text = f"::ffff:{mapped}" if mapped else str(address)
        shown = text if host.strip("[]").lower() == text else f"{host} resolves to {text}, which"
        article = "an" if kind[0] in "aeiou" else "a"
        super().__init__(f"{shown} is {article} {kind} address")


def refusal(address: IPAddress) -> str | None:
    """What kind of internal address `address` is ("loopback", "private", ...), or None when it is public.

    The one predicate of the policy, used in production and in every test.
    """
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            kind = refusal(inner)
            return f"IPv4-embedding {kind}" if kind else None
    for kind, hit in (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
                      ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                      ("reserved", address.is_reserved), ("private", address.is_private),
                      ("non-global (special-purpose)", not address.is_global)):
        if hit:
            return kind
    return None


class AddressPolicy:
    """Resolves a host and returns the addresses a connection may use, or raises AddressRefused.

    `allow_private` turns the check off (the operator's `allow_private_addresses`). `exempt` names
    single (address, port) endpoints that pass without the check: tests use it to allow one local
    server while the policy stays on for every other address, including redirect targets.
    """

    def __init__(self, *, allow_private: bool = False, exempt: Collection[tuple[str, int]] = ()) -> None:
        self.allow_private = allow_private
        self.exempt = frozenset(exempt)

    def addresses(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to, in resolver order, each one checked (one lookup)."""
        infos = socket.getaddrinfo(host.strip("[]"), port, 0, socket.SOCK_STREAM)
        out: list[str] = []
        for *_, sockaddr in infos:
            text = str(sockaddr[0])
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not self.allow_private and (str(address), port) not in self.exempt:
                kind = refusal(address)
                if kind is not None:
                    raise AddressRefused(host, address, kind)
            if text not in out:
                out.append(text)
        return out


def _pinned_socket(conn: HTTPConnection, policy: AddressPolicy) -> socket.socket:
    """urllib3's `_new_conn`, but connecting only to addresses the policy has just checked."""
    try:
        addresses = policy.addresses(conn.host, conn.port)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    error: OSError | None = None
    for address in addresses:
        try:
            return urllib3_connection.create_connection(
                (address, conn.port), conn.timeout, source_address=conn.source_address,
                socket_options=conn.socket_options)
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})") from exc
        except OSError as exc:
            error = exc
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}")


class PinnedAdapter(HTTPAdapter):
    """A requests adapter whose connections resolve, check and connect through one AddressPolicy."""

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        self.policy = policy  # set before HTTPAdapter.__init__, which builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        policy = self.policy

        class Connection(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                return _pinned_socket(self, policy)

        class TLSConnection(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                return _pinned_socket(self, policy)

        class Pool(HTTPConnectionPool):
            ConnectionCls = Connection

        class TLSPool(HTTPSConnectionPool):
            ConnectionCls = TLSConnection

        self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}
