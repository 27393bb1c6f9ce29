"""Snapshot transfers to and from caller-supplied URLs, behind a guard against SSRF.

A retention URL comes from the caller, so the server must not become a way to reach
what only it can reach (cloud metadata at 169.254.169.254, an admin port on loopback, a
database on the private network). The guard: https only, a host, and every address the
host resolves to public (not private, loopback, link-local, reserved, multicast,
unspecified). ``AGENTKEEP_RETENTION_ALLOW_PRIVATE_URLS`` lifts the address rule only.

The connection then goes to an address that was checked, never to a second DNS answer:
the request is sent to the IP, with the original host in ``Host`` and as the TLS server
name (SNI and certificate check), so a DNS rebinding between check and connect cannot
redirect it. Redirects are not followed (a 3xx is a failure), and the whole transfer has
one 60 s timeout.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass

import httpx

from agentkeep import errors

TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL and the address to connect to."""

    url: httpx.URL
    address: str


def _refuse(url: str, reason: str) -> errors.BadRequest:
    return errors.BadRequest(f"URL '{url}' is not allowed: {reason}")


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        not (
            ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_reserved
            or ip.is_multicast
            or ip.is_unspecified
        )
        and ip.is_global
    )


async def check(raw: str, *, allow_private: bool) -> Target:
    """Apply the guard; a refusal is a 400 naming the URL and the reason."""
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        raise _refuse(raw, "it is not a valid URL") from None
    if url.scheme != "https":
        raise _refuse(raw, "only https URLs are accepted")
    if not url.host:
        raise _refuse(raw, "it has no host name")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            url.host, url.port or 443, type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        raise _refuse(raw, f"host '{url.host}' does not resolve") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise _refuse(raw, f"host '{url.host}' does not resolve")
    if not allow_private:
        for address in addresses:
            if not _is_public(address):
                raise _refuse(
                    raw,
                    f"host '{url.host}' resolves to {address}, which is not a public address "
                    "(set AGENTKEEP_RETENTION_ALLOW_PRIVATE_URLS=true for on-premises stores)",
                )
    return Target(url, addresses[0])


class TooLarge(Exception):
    """The answer is bigger than the caller's limit."""


async def _send(
    target: Target, method: str, content: bytes | None = None, limit: int | None = None
) -> tuple[int, bytes]:
    """One request to the checked address: its status and body (at most ``limit`` bytes)."""
    headers = {"host": target.url.netloc.decode("ascii")}
    if content is not None:
        headers["content-type"] = "application/json"

    async def run() -> tuple[int, bytes]:
        async with (
            httpx.AsyncClient(
                timeout=TIMEOUT_SECONDS,
                follow_redirects=False,
                # No proxies from the environment: a proxy would resolve the host itself
                # and undo the address check. The system CA store (OpenSSL honours
                # SSL_CERT_FILE for a private CA).
                trust_env=False,
                verify=ssl.create_default_context(),
            ) as http,
            http.stream(
                method,
                target.url.copy_with(host=target.address),
                content=content,
                headers=headers,
                extensions={"sni_hostname": target.url.host},
            ) as response,
        ):
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if limit is not None and len(body) > limit:
                    raise TooLarge()
            return response.status_code, bytes(body)

    # httpx's timeout bounds each phase; this bounds the whole transfer.
    return await asyncio.wait_for(run(), TIMEOUT_SECONDS)


async def upload(target: Target, body: bytes) -> bool:
    """PUT the snapshot; True on a 2xx answer."""
    try:
        status_code, _ = await _send(target, "PUT", body, limit=1 << 20)
    except (httpx.HTTPError, OSError, TimeoutError, TooLarge):
        return False
    return 200 <= status_code < 300


async def download(target: Target, limit: int) -> bytes | None:
    """GET the snapshot; its bytes on a 2xx answer, else None. ``TooLarge`` past ``limit``."""
    try:
        status_code, body = await _send(target, "GET", limit=limit)
    except (httpx.HTTPError, OSError, TimeoutError):
        return None
    return body if 200 <= status_code < 300 else None
