"""Refuse webhook URLs that would make the registry call into private networks (SSRF).

Addresses are checked at registration and again at delivery, where the check and the connection
share one resolution: `GuardedTransport` resolves the name once, checks every address and
connects to a checked one, so a name that flips to a private address between the check and the
connection (DNS rebinding) cannot reach it. The URL keeps its hostname, so the Host header and
the TLS server name (SNI, certificate check) are still the name's.
"""

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

__all__ = [
    "GuardedTransport",
    "Resolver",
    "UnsafeUrl",
    "check_url_form",
    "check_webhook_url",
    "refusal",
    "resolve",
]

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# RFC 8215 leaves where the IPv4 address sits to each network, so it cannot be decoded.
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why. `allow_listable`: putting its host in
    WEBHOOK_ALLOWED_HOSTS would let it through (a private address, plain http)."""

    def __init__(self, message: str, *, allow_listable: bool = True) -> None:
        super().__init__(message)
        self.allow_listable = allow_listable


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, as the system resolver answers."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeUrl(f"cannot resolve host {host!r}") from error
    return sorted({str(info[4][0]) for info in infos})


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses a transition form carries, which is where its packets really go."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _is_public(ip: IPAddress) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


def refusal(address: str) -> str | None:
    """Why this address may not be called, or None when it is a public one."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return f"{ip} is a local-use NAT64 address, which may lead anywhere"
        for ipv4 in _embedded_ipv4(ip):
            if not _is_public(ipv4):
                return f"{ip} embeds {ipv4}, a private, loopback, link-local or reserved address"
        # Mapped and well-known NAT64 forms reach exactly their IPv4 address, checked above;
        # Python counts them as reserved, which would refuse public receivers behind DNS64.
        if ip.ipv4_mapped is not None or ip in _NAT64:
            return None
    if not _is_public(ip):
        return f"{ip} is a private, loopback, link-local, multicast or reserved address"
    return None


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def checked_addresses(
    host: str, port: int, allowed_hosts: frozenset[str], resolver: Resolver | None = None
) -> list[str]:
    """The addresses to connect to for `host`, every one of them checked unless allow-listed."""
    lookup = resolver or resolve
    addresses = [host] if _literal(host) else lookup(host, port)
    if not addresses:
        raise UnsafeUrl(f"cannot resolve host {host!r}")
    if host.lower() in allowed_hosts:
        return addresses
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            if address == host:
                raise UnsafeUrl(reason)
            raise UnsafeUrl(f"{host} resolves to {reason}")
    return addresses


def check_url_form(url: str, allowed_hosts: frozenset[str]) -> tuple[str, int]:
    """Raise UnsafeUrl unless `url` is https without credentials (or its host is allow-listed);
    returns its host and port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeUrl("must be an absolute https URL", allow_listable=False)
    if parts.username or parts.password:
        raise UnsafeUrl(
            "must not carry credentials; authenticate with the signature instead",
            allow_listable=False,
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeUrl("has an invalid port", allow_listable=False) from error
    if parts.scheme != "https" and host not in allowed_hosts:
        raise UnsafeUrl("must use https (plain http only for allow-listed hosts)")
    return host, port


def check_webhook_url(
    url: str, allowed_hosts: frozenset[str], resolver: Resolver | None = None
) -> None:
    """Raise UnsafeUrl unless `url` is https to public addresses, or its host is allow-listed."""
    host, port = check_url_form(url, allowed_hosts)
    if host not in allowed_hosts:
        checked_addresses(host, port, allowed_hosts, resolver)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to an address that passed the check, from the one resolution that was checked."""

    def __init__(self, allowed_hosts: frozenset[str], resolver: Resolver | None) -> None:
        self._allowed_hosts = allowed_hosts
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        # UnsafeUrl is not an httpcore error, so httpx lets it through unchanged to the caller.
        addresses = checked_addresses(host, port, self._allowed_hosts, self._resolver)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise UnsafeUrl("webhooks are never delivered over a Unix socket")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport, with every connection made by `_PinnedBackend`.

    It ignores proxy environment variables: a proxy would resolve the name again itself.
    """

    def __init__(
        self,
        allowed_hosts: frozenset[str],
        resolver: Resolver | None = None,
        *,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        super().__init__(verify=verify)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            network_backend=_PinnedBackend(allowed_hosts, resolver),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
        )
