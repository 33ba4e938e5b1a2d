"""Where a webhook may point (no SSRF in production) and the one HTTP POST of an attempt.

urllib3 (already under requests) is the client: its connection pools let an attempt connect to the address
that was just checked while sending the URL's host name for TLS (SNI and certificate check) and in `Host`,
so a name that resolves to a public address at check time cannot be re-pointed at the internal network
between the check and the connection (DNS rebinding). It also turns redirects off and reads bodies lazily.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator

from salesproject.errors import ValidationError

SNIPPET_BYTES = 300  # of a failed answer's body, kept in `last_error`; the rest is never read


class TargetRefused(ValidationError):
    """A webhook URL that may not be called (the API answers 400 with the code)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query
    addresses: tuple[str, ...]  # checked addresses to connect to, in resolver order


def _guarded() -> bool:
    return settings.PRODUCTION


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL, or `invalid_url`; `insecure_url` for http in production."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"Not a valid URL: {exc}.", code="invalid_url", attr="url") from exc
    try:
        URLValidator(schemes=["http", "https"])(url)
    except DjangoValidationError:
        parts = parts._replace(scheme="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("Enter an http or https URL with a host name.", code="invalid_url", attr="url")
    if parts.username or parts.password:
        raise TargetRefused("A webhook URL may not carry a user name or password.", code="invalid_url", attr="url")
    if parts.scheme != "https" and _guarded():
        raise TargetRefused("Webhook URLs must use https.", code="insecure_url", attr="url")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """The URL's target with the addresses it resolves to now; in production, refuse private ones."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f'The host "{host}" does not resolve.', code="unresolvable_host", attr="url") from exc
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if _guarded() and not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        private = [address for address in addresses if not _public(address)]
        if private:
            raise TargetRefused(
                f'The host "{host}" resolves to a loopback, private, link-local or reserved address '
                f"({private[0]}); webhooks may only call public addresses.",
                code="private_target",
                attr="url",
            )
    return Target(scheme, host, port, path, addresses)


def check(url: str) -> None:
    """At create and update: the URL's shape everywhere, and (in production) where it resolves to."""
    if _guarded():
        resolve(url)
    else:
        parse(url)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str  # empty when delivered

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST once: no redirects, no retries, WEBHOOK_TIMEOUT for the whole exchange; never raises."""
    timeout = settings.WEBHOOK_TIMEOUT
    try:
        target = resolve(url)
    except TargetRefused as exc:
        return Outcome(None, f"{exc.code}: {exc.detail}")
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    if target.port != (443 if target.scheme == "https" else 80):
        host_header += f":{target.port}"
    deadline = time.monotonic() + timeout
    error = "no address to connect to"
    for address in target.addresses[:2]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Outcome(None, f"timed out after {timeout:g} s")
        pool_kwargs = {"port": target.port, "maxsize": 1, "retries": False}
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
                **pool_kwargs,
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, **pool_kwargs)
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers={**headers, "Host": host_header},
                redirect=False,
                retries=False,
                preload_content=False,
                timeout=urllib3.Timeout(total=remaining),
            )
            try:
                return _outcome(response)
            finally:
                response.close()
        except urllib3.exceptions.NewConnectionError as exc:
            error = f"connection failed: {exc}"
            continue  # the next address, if any
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            return Outcome(None, f"timed out after {timeout:g} s")
        except urllib3.exceptions.SSLError as exc:
            return Outcome(None, f"TLS error: {exc}"[:500])
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return Outcome(None, f"connection failed: {exc}"[:500])
        finally:
            pool.close()
    return Outcome(None, error[:500])


def _outcome(response) -> Outcome:
    status = response.status
    if 200 <= status < 300:
        return Outcome(status, "")
    if 300 <= status < 400:
        return Outcome(status, f"redirect to {response.headers.get('Location', '?')[:200]} not followed")
    try:
        snippet = response.read1(SNIPPET_BYTES, decode_content=False)[:SNIPPET_BYTES]
    except (urllib3.exceptions.HTTPError, OSError):
        snippet = b""
    text = snippet.decode("utf-8", "replace").strip()
    return Outcome(status, f"HTTP {status}" + (f": {text}" if text else ""))
