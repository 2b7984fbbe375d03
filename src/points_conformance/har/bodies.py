"""The text of a HAR body, however the recording tool stored it.

Browsers store a response's decoded text; tools differ in the rest: base64 for binary or all
bodies (`encoding: "base64"`), bytes still compressed as they came over the wire (gzip,
deflate), a body kept in a side file (`_file`, Playwright's `content: "attach"`), or no text at
all (`content: "omit"`, a body the browser did not keep). `body_text` gives the text, `None`
when the recording holds none, or raises `BodyUnreadable` with the reason.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_GZIP_MAGIC = b"\x1f\x8b"
# zlib's header byte pairs (deflate with the usual window sizes and levels).
_ZLIB_HEADERS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
# Kept side files never exceed what the client would have read of a live answer.
MAX_BODY_BYTES = 10 * 1024 * 1024


class BodyUnreadable(ValueError):
    """A recorded body that cannot be turned into text; the message says why, in one line."""


def header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def charset_of(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


def _decompressed(data: bytes, coding: str) -> bytes:
    """`data` decoded from the Content-Encoding it still carries (none: as it is)."""
    codings = [c.strip().lower() for c in coding.split(",") if c.strip()]
    looks_gzip = data.startswith(_GZIP_MAGIC)
    looks_zlib = data[:2] in _ZLIB_HEADERS
    if not codings and not (looks_gzip or looks_zlib):
        return data
    try:
        if looks_gzip:
            return zlib.decompress(data, 16 + zlib.MAX_WBITS)
        if looks_zlib:
            return zlib.decompress(data)
        if "deflate" in codings:
            return zlib.decompress(data, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise BodyUnreadable(
            f"a {coding or 'compressed'} body that does not inflate: {exc}"
        ) from None
    unreadable = [c for c in codings if c in ("br", "zstd", "compress")]
    if unreadable and not _is_text(data):
        raise BodyUnreadable(f"a body still compressed with {unreadable[0]}, which is not read")
    # The recording tool decoded the body already and kept the header as it came.
    return data


def _is_text(data: bytes) -> bool:
    try:
        data[:512].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _side_file(name: str, base: Path) -> bytes:
    path = (base / name).resolve()
    try:
        size = path.stat().st_size
        if size > MAX_BODY_BYTES:
            raise BodyUnreadable(f"side file {name} is larger than {MAX_BODY_BYTES} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise BodyUnreadable(f"side file {name} cannot be read: {exc.strerror or exc}") from None


def body_text(
    holder: Mapping[str, Any], headers: Mapping[str, str], base: Path, *, mime_key: str
) -> str | None:
    """The text of a HAR `content` (response) or `postData` (request) object.

    `mime_key` names the field holding its media type (`mimeType` in both, kept apart for
    tools that leave it out); the charset comes from it or from the Content-Type header.
    """
    text = holder.get("text")
    encoding = str(holder.get("encoding") or "").lower()
    side = holder.get("_file")
    if not isinstance(text, str):
        if isinstance(side, str) and side:
            data = _side_file(side, base)
        else:
            return None
    elif encoding == "base64":
        try:
            data = base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise BodyUnreadable(f"a base64 body that does not decode: {exc}") from None
    elif encoding:
        raise BodyUnreadable(f"a body in the unknown encoding {encoding!r}")
    else:
        return text
    data = _decompressed(data, header(headers, "content-encoding"))
    media = str(holder.get(mime_key) or "") or header(headers, "content-type")
    try:
        return data.decode(charset_of(media), errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")
