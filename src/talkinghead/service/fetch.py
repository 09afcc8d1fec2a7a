"""Turn an ``image``/``audio`` field (URL, base64 or data URI) into bytes, within limits.

URLs: http and https only, at most ``max_redirects`` redirects, connect and
read timeouts plus an overall deadline, a byte limit enforced while reading,
and every connection vetted by ``netguard`` (so redirects are checked too).
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import httpcore

from talkinghead.errors import FileTooLargeError, UnsupportedImageFormatError
from talkinghead.service.errors import FetchError, RequestError
from talkinghead.service.pacing import Transfer, pace

_DATA_URI = re.compile(r"^data:([\w.+/-]*)(;[\w=.+-]*)*?;base64,", re.IGNORECASE)
_REDIRECTS = {301, 302, 303, 307, 308}
_USER_AGENT = "talkinghead-fetch/1"


@dataclass(frozen=True, kw_only=True)
class FetchLimits:
    """Limits for one input field."""

    max_bytes: int
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 20.0
    total_timeout_s: float = 120.0
    max_redirects: int = 3
    #: Bytes/s a server must keep up, from its first byte and after ``rate_grace_s``;
    #: 0: no minimum.
    min_rate: float = 0.0
    rate_grace_s: float = 5.0


def is_url(value: str) -> bool:
    """True when ``value`` looks like a URL (any scheme) rather than base64."""
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value) is not None


#: Base64 is cleaned and decoded this many characters at a time (a multiple of 4): each
#: step holds the GIL for about 10 ms, so a 50 MB field decoded on a request thread never
#: stalls the event loop and the other requests (one regex over 69 MB held it for 0.8 s).
_BASE64_STEP = 1 << 22
_ASCII_SPACE = b" \t\n\r\x0b\x0c"


def decode_base64(value: str, *, field: str, max_bytes: int) -> bytes:
    """Decode base64 with or without a ``data:...;base64,`` prefix; whitespace is ignored."""
    text = value.strip()
    match = _DATA_URI.match(text)
    if match:
        text = text[match.end():]
    elif text.startswith("data:"):
        raise RequestError(f"{field}: data URI must be base64 encoded (data:<type>;base64,...)")
    if not text.isascii():  # rare: Unicode whitespace is dropped, anything else refused
        text = re.sub(r"\s+", "", text)
        if not text.isascii():
            raise RequestError(f"{field}: neither an http(s) URL nor valid base64 "
                               "(non-ASCII characters)")
    compact = b"".join(text[i:i + _BASE64_STEP].encode("ascii").translate(None, _ASCII_SPACE)
                       for i in range(0, len(text), _BASE64_STEP))
    if not compact:
        raise RequestError(f"{field}: is empty; give a URL or base64 data")
    if len(compact) * 3 // 4 > max_bytes + 2:
        raise FileTooLargeError(f"{field}: the decoded data is over the "
                                f"{max_bytes / 2**20:.0f} MB limit")
    compact += b"=" * (-len(compact) % 4)
    altchars = b"-_" if (b"-" in compact or b"_" in compact) else None
    try:
        if compact.find(b"=", 0, len(compact) - 2) != -1:
            raise binascii.Error("padding before the end")
        view = memoryview(compact)
        data = b"".join(base64.b64decode(view[i:i + _BASE64_STEP], altchars=altchars,
                                         validate=True)
                        for i in range(0, len(compact), _BASE64_STEP))
    except (binascii.Error, ValueError) as exc:
        raise RequestError(f"{field}: neither an http(s) URL nor valid base64 ({exc})") from exc
    if len(data) > max_bytes:
        raise FileTooLargeError(f"{field}: {len(data) / 2**20:.1f} MB is over the "
                                f"{max_bytes / 2**20:.0f} MB limit")
    if not data:
        raise RequestError(f"{field}: decodes to zero bytes")
    return data


def fetch_url(url: str, *, field: str, limits: FetchLimits, pool: httpcore.ConnectionPool) -> bytes:
    """GET ``url`` through ``pool`` (a guarded pool), following up to ``max_redirects``.

    The whole fetch, redirects included, must end within ``total_timeout_s``; each
    response must arrive at ``min_rate`` or more (headers included: a guarded pool
    checks both on every read).
    """
    deadline = time.monotonic() + limits.total_timeout_s
    current = url
    for _hop in range(limits.max_redirects + 1):
        target = check_url(current, field)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"{field}: download took longer than {limits.total_timeout_s:g} s")
        timeouts = {"connect": min(limits.connect_timeout_s, remaining),
                    "read": limits.read_timeout_s, "write": limits.read_timeout_s,
                    "pool": min(limits.connect_timeout_s, remaining)}
        transfer = Transfer(limits.total_timeout_s, deadline=deadline, min_rate=limits.min_rate,
                            grace_s=limits.rate_grace_s, what=f"the download of {current}")
        try:
            with pace(transfer), pool.stream(
                    "GET", target, headers=[(b"User-Agent", _USER_AGENT.encode()),
                                            (b"Accept", b"*/*")],
                    extensions={"timeout": timeouts}) as response:
                if response.status in _REDIRECTS:
                    location = _header(response.headers, b"location")
                    if not location:
                        raise FetchError(f"{field}: {current} redirected without a Location")
                    current = urljoin(current, location)
                    continue
                if response.status != 200:
                    raise FetchError(f"{field}: {current} answered HTTP {response.status}")
                return _read_body(response, field=field, limits=limits, deadline=deadline)
        except FetchError as exc:  # raised while connecting: say which field it was
            if exc.message.startswith(f"{field}:"):
                raise
            raise type(exc)(f"{field}: {exc.message}") from exc
        except httpcore.TimeoutException as exc:
            raise FetchError(f"{field}: {current} timed out ({type(exc).__name__})") from exc
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise FetchError(f"{field}: cannot fetch {current} ({exc or type(exc).__name__})") \
                from exc
    raise FetchError(f"{field}: more than {limits.max_redirects} redirects from {url}")


def check_url(url: str, field: str) -> httpcore.URL:
    """Parse an http(s) URL for httpcore; raise RequestError naming ``field`` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RequestError(f"{field}: malformed URL {url!r} ({exc})") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise RequestError(f"{field}: only http and https URLs are accepted, not "
                           f"{parts.scheme or 'a relative'} URL {url!r}")
    if not parts.hostname:
        raise RequestError(f"{field}: URL {url!r} has no host")
    if parts.username or parts.password:
        raise RequestError(f"{field}: URLs with credentials are not accepted")
    host = parts.hostname
    if not host.isascii():  # an internationalised name: its ASCII (IDNA) form is what resolves
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise RequestError(f"{field}: URL {url!r} has an invalid host name ({exc})") from exc
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if not target.isascii():  # percent-encode as browsers do; reserved characters stay
        target = quote(target, safe="/?#[]@!$&'()*+,;=:%~")
    return httpcore.URL(scheme=parts.scheme.lower(), host=host, port=port, target=target)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _read_body(response: httpcore.Response, *, field: str, limits: FetchLimits,
               deadline: float) -> bytes:
    too_large = FileTooLargeError(f"{field}: the file is over the "
                                  f"{limits.max_bytes / 2**20:.0f} MB limit")
    length = _header(response.headers, b"content-length")
    if length and length.isdigit() and int(length) > limits.max_bytes:
        raise too_large
    chunks, size = [], 0
    for chunk in response.iter_stream():
        size += len(chunk)
        if size > limits.max_bytes:
            raise too_large
        if time.monotonic() > deadline:
            raise FetchError(f"{field}: download took longer than {limits.total_timeout_s:g} s")
        chunks.append(chunk)
    if not size:
        raise FetchError(f"{field}: the URL returned an empty body")
    return b"".join(chunks)


#: Leading bytes of image formats, to refuse unsupported ones before queueing.
_IMAGE_MAGIC = [(b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"),
                (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
                (b"\x00\x00\x01\x00", "ICO"), (b"%PDF", "PDF"), (b"<svg", "SVG"), (b"<?xml", "SVG")]


def check_image_format(data: bytes) -> None:
    """Refuse anything but PNG, JPEG and WebP by its leading bytes (415)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return
    kind = next((name for magic, name in _IMAGE_MAGIC if data.startswith(magic)), None)
    if kind in ("PNG", "JPEG"):
        return
    described = f"{kind} images are" if kind else "this file is"
    raise UnsupportedImageFormatError(f"image: {described} not supported; use PNG, JPEG or WebP")
