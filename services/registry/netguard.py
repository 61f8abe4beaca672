"""Refuse webhook URLs that would make the registry call into private networks (SSRF).

Checked on the resolved addresses at registration and again before each delivery, so a name
that later resolves somewhere private (DNS rebinding) is refused too.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["UnsafeUrl", "check_webhook_url"]


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeUrl(f"cannot resolve host {host!r}") from error
    return sorted({str(info[4][0]) for info in infos})


def check_webhook_url(url: str, allowed_hosts: frozenset[str]) -> None:
    """Raise UnsafeUrl unless `url` is https to public addresses, or its host is allow-listed."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeUrl("must be an absolute https URL")
    if parts.username or parts.password:
        raise UnsafeUrl("must not carry credentials; authenticate with the signature instead")
    if host in allowed_hosts:
        return
    if parts.scheme != "https":
        raise UnsafeUrl("must use https (plain http only for allow-listed hosts)")
    try:
        port = parts.port or 443
    except ValueError as error:
        raise UnsafeUrl("has an invalid port") from error
    for address in _resolve(host, port):
        if not _is_public(address):
            raise UnsafeUrl(
                f"{host} resolves to {address}, a private, loopback, link-local, multicast or "
                "reserved address"
            )
