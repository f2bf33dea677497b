"""Requests this server makes to addresses operators type in (webhook endpoints): never to this
host, its network or a cloud's metadata service, unless the operator allows private networks.

A webhook URL is checked when it is saved and again, after DNS resolution, when it is sent: the
connection goes to the very address that was checked, so a name that resolves to a public address
at save time and to 127.0.0.1 later (DNS rebinding) still cannot reach inside. Redirects are not
followed (consent.services.webhooks).
"""

import http.client
import ipaddress
import socket
import ssl
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeDestination(ValueError):
    """The URL's host is, or resolves to, an address that is not on the public internet."""


def _allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    # Not global: loopback, private, link-local (169.254.169.254, the metadata service), carrier-grade
    # NAT, documentation and reserved ranges.
    return ip.is_global or settings.CMP_WEBHOOKS_ALLOW_PRIVATE


def public_addresses(host: str, port: int) -> list[tuple]:
    """The addresses `host` resolves to, each allowed; raises UnsafeDestination (or OSError when
    it does not resolve)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    refused = sorted({info[4][0] for info in found if not _allowed(info[4][0])})
    if refused:
        raise UnsafeDestination(
            f"{host} resolves to {', '.join(refused)}, which is not a public address. "
            "Set CMP_WEBHOOKS_ALLOW_PRIVATE=1 to allow private networks."
        )
    return [info[4] for info in found]


def check_url(url: str) -> None:
    """For a URL being saved: refuses one whose host is or resolves to a non-public address. A
    name that does not resolve now is let through; it is checked again at every delivery."""
    parts = urlsplit(url)
    try:
        public_addresses(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as error:
        if isinstance(error, UnsafeDestination):
            raise
        return


def _connect(host: str, port: int, timeout) -> socket.socket:
    last_error: OSError = OSError(f"{host} has no address")
    for address in public_addresses(host, port):
        try:
            return socket.create_connection(address[:2], timeout=timeout)
        except OSError as error:
            last_error = error
    raise last_error


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = _connect(self.host, self.port, self.timeout)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        sock = _connect(self.host, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_CheckedHTTPConnection, req)


class CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self):
        super().__init__(context=ssl.create_default_context())

    def https_open(self, req):
        return self.do_open(_CheckedHTTPSConnection, req, context=self._context)
