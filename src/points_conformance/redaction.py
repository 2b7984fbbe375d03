"""Keeps credentials out of everything the harness shows: exchanges, reports, messages.

Recorded exchanges carry the Authorization scheme but never its value; settings are shown with
secrets masked; and any secret value that a server echoed back (in a body excerpt, a message)
is scrubbed from every string. Every masked value reads `MASK`.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

from points_conformance.variables import CREDENTIAL_VARIABLES

MASK = "****"

# Headers whose values never leave the process unmasked.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

# Keys whose values are credentials. Keys ending in these suffixes name where a secret lives
# (an environment variable, a header), which a reader needs in order to reproduce a run.
_SECRET_KEY = re.compile(
    r"pass|secret|token|bearer|auth|credential|cookie|api_?key|otp|user(name)?$|login", re.I
)
_NAME_SUFFIXES = ("_env", "_header", "_var", "_variable")

# Shorter values are too likely to occur by chance in ordinary text to be scrubbed.
_MIN_SCRUB = 3


def without_credentials(headers: Iterable[tuple[str, str | bytes]]) -> dict[str, str]:
    """Headers as an exchange records them: Authorization keeps its scheme, not its value.

    The scheme stays so that a curl repro knows which credentials to ask for.
    """
    out: dict[str, str] = {}
    for key, raw in headers:
        value = raw.decode("latin-1") if isinstance(raw, bytes) else raw
        if key.lower() == "authorization":
            value = f"{value.split(' ', 1)[0]} {MASK}"
        out[key] = value
    return out


def masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with the value of every secret header (`SECRET_HEADERS`) masked."""
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def leak_forms(
    secrets: Iterable[str], *, users: Iterable[str] = (), passwords: Iterable[str] = ()
) -> list[str]:
    """Every form in which credentials could leak into text, longest first.

    The secrets and passwords themselves, and each `user:password` pair with its base64 (the
    forms a server may echo from a Basic header).
    """
    found = {s for s in secrets if s}
    password_list = [p for p in passwords if p]
    found.update(password_list)
    for user in users:
        for password in password_list:
            pair = f"{user}:{password}"
            found.add(pair)
            found.add(base64.b64encode(pair.encode()).decode("ascii"))
    return sorted((s for s in found if len(s) >= _MIN_SCRUB), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret replaced by `MASK`."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def is_secret_key(key: str) -> bool:
    low = key.lower()
    return not low.endswith(_NAME_SUFFIXES) and bool(_SECRET_KEY.search(low))


def _is_user_key(key: str) -> bool:
    return bool(re.search(r"user(name)?$", key, re.I))


def _fields(value: Any) -> Iterable[tuple[str, Any]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return ((f.name, getattr(value, f.name, None)) for f in dataclasses.fields(value))
    if isinstance(value, Mapping):
        return ((str(k), v) for k, v in value.items())
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict):
        return ((k, v) for k, v in attrs.items() if not k.startswith("_") and not callable(v))
    return ()


def _structured(value: Any) -> bool:
    return (
        (dataclasses.is_dataclass(value) and not isinstance(value, type))
        or isinstance(value, Mapping)
        or isinstance(getattr(value, "__dict__", None), dict)
    )


def masked_settings(settings: Any, depth: int = 4) -> Any:
    """A JSON-safe view of a settings object in which every credential value reads `****`."""
    return _plain(settings, "", depth)


def _plain(value: Any, key: str, depth: int) -> Any:
    if key and is_secret_key(key) and not _structured(value):
        return MASK if value not in (None, "", (), []) else value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value, key, depth)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(v, key, depth - 1) for v in items]
    if depth <= 0:
        return "…"
    if _structured(value):
        return {k: _plain(v, k, depth - 1) for k, v in _fields(value)}
    return str(value)


def secret_values(settings: Any, environ: Mapping[str, str]) -> list[str]:
    """Every credential value a report must never contain, longest first.

    Taken from the settings' credential fields, from the environment variables the settings
    name for them (`*_env`), and from the variables the curl repros refer to. The forms a
    server may echo (`user:password` and its base64) are included.
    """
    env = environ
    secrets: set[str] = set()
    users: set[str] = set()
    passwords: set[str] = set()

    def visit(value: Any, key: str, depth: int) -> None:
        if depth < 0:
            return
        if _structured(value):
            for k, v in _fields(value):
                visit(v, k, depth - 1)
            return
        if not key or not isinstance(value, str) or not value:
            return
        base = key.lower()
        if base.endswith("_env"):
            base = base[: -len("_env")]
            value = env.get(value, "")
        if not value or not is_secret_key(base):
            return
        if _is_user_key(base):
            users.add(value)
            return
        secrets.add(value)
        if "pass" in base:
            passwords.add(value)

    visit(settings, "", 4)
    own = getattr(settings, "secrets", None)
    if callable(own):
        # The settings' own list of leak forms, when they keep one, is the authority.
        try:
            secrets.update(str(value) for value in own() if value)
        except Exception:  # a report is still written; the fields above were collected
            pass
    user, password, bearer = (env.get(name) or None for name in CREDENTIAL_VARIABLES)
    users.update(v for v in (user,) if v)
    passwords.update(v for v in (password,) if v)
    secrets.update(v for v in (bearer,) if v)
    return leak_forms(secrets, users=users, passwords=passwords)


def scrub(value: Any, secrets: list[str]) -> Any:
    """`value` with every occurrence of a secret in any string (keys included) replaced."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, secrets) for v in value]
    return value
