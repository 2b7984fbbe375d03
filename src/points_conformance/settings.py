"""One Settings object for a run: where the target is, how to log in, how gently to call it.

Every engine (matrix tests, fuzzing, reports, the `run` command) reads the same frozen object,
resolved once with the precedence CLI flags > environment (`POINTS_CONFORMANCE_*`) > target
file > defaults (the base URL also from the pytest configuration's `base_url` key, between the
environment and the target file). Problems are reported as a one-line `SettingsError` that
names the flag, variable or key at fault and never echoes a credential.

This is the only module that reads the environment (the variables' names are in `variables`);
the small functions below (`environment`, `specs_dir`, `default_report_dir`, `progress_mode`,
`in_ci`, `default_base_url`) answer the questions other modules would otherwise ask
`os.environ` themselves.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from points_conformance import locations, variables
from points_conformance.records import TOLERABLE
from points_conformance.redaction import leak_forms, redact
from points_conformance.target import TargetData, TargetFileError, load_target
from points_conformance.waivers import Waiver, WaiverFileError, load_waivers

# Option name (as `resolve_settings` receives it) -> (CLI flag, environment variable).
OPTIONS: dict[str, tuple[str, str]] = {
    "base_url": ("--base-url", variables.BASE_URL_ENV),
    "target": ("--target", variables.TARGET_ENV),
    "auth": ("--auth", variables.AUTH_ENV),
    "bearer": ("--bearer", variables.BEARER_ENV),
    "strict": ("--conformance-strict", variables.STRICT_ENV),
    "allow_writes": ("--allow-writes", variables.ALLOW_WRITES_ENV),
    "rate_limit": ("--rate-limit", variables.RATE_LIMIT_ENV),
    "timeout": ("--timeout", variables.TIMEOUT_ENV),
    "dry_run": ("--dry-run", variables.DRY_RUN_ENV),
    "report_dir": ("--report-dir", variables.REPORT_DIR_ENV),
    "fuzz_seed": ("--fuzz-seed", variables.FUZZ_SEED_ENV),
    "fuzz_examples": ("--fuzz-examples", variables.FUZZ_EXAMPLES_ENV),
    "waivers": ("--waivers", variables.WAIVERS_ENV),
    "fail_on_stale_waivers": ("--fail-on-stale-waivers", variables.FAIL_ON_STALE_WAIVERS_ENV),
    "recheck": ("--recheck", variables.RECHECK_ENV),
    "tolerate": ("--tolerate", variables.TOLERATE_ENV),
}

# A shared server must not be hammered by a suite run that nobody asked to be gentle.
REMOTE_RATE_LIMIT = 10.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_FUZZ_SEED = 0
DEFAULT_FUZZ_EXAMPLES = 50
DEFAULT_MAX_RETRIES = 3
DEFAULT_RETRY_AFTER_CAP = 30.0
# Re-sends of each failing exchange off loopback: a failure that comes one request in three
# comes three times running once in 27.
REMOTE_RECHECKS = 3

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """A configuration problem; the message is one line and names the flag, variable or key."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def is_loopback(url: str | None) -> bool:
    """True when `url` points at this machine (127.0.0.0/8, ::1, localhost)."""
    if not url:
        return False
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def environment() -> Mapping[str, str]:
    """The process environment, for callers that take a mapping (tests pass their own)."""
    return os.environ


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return environment() if environ is None else environ


def specs_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The specs folder: `$POINTS_CONFORMANCE_SPECS_DIR`, else where `locations` finds it."""
    return locations.specs_dir(_env(environ).get(variables.SPECS_DIR_ENV) or None)


def default_report_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The report folder when no flag names one: `$POINTS_CONFORMANCE_REPORT_DIR` or reports/."""
    return Path(_env(environ).get(variables.REPORT_DIR_ENV) or locations.DEFAULT_REPORT_DIR)


def progress_mode(environ: Mapping[str, str] | None = None) -> str:
    """`$POINTS_CONFORMANCE_PROGRESS`, lower-cased ("" when unset)."""
    return _env(environ).get(variables.PROGRESS_ENV, "").strip().lower()


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """True when `$CI` is set to anything but an empty or false value."""
    return _env(environ).get(variables.CI_ENV, "").strip().lower() not in ("", "0", "false", "no")


def default_base_url(environ: Mapping[str, str] | None = None) -> str | None:
    """`$PYTEST_BASE_URL`, the default of `--base-url` (as pytest-base-url has it), or None."""
    return _env(environ).get(variables.PYTEST_BASE_URL_ENV) or None


@dataclass(frozen=True)
class Settings:
    """The resolved configuration. `password` and `bearer` never appear in repr or str.

    `base_url` is None only until the embedded reference server is started (see
    `with_embedded`); the plugin never hands such a Settings to a test.
    """

    base_url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    bearer: str | None = field(default=None, repr=False)
    target_data: TargetData = field(default_factory=TargetData)
    target_file: Path | None = None
    strict: bool = False
    allow_writes: bool = False
    rate_limit: float | None = None
    timeout: float = DEFAULT_TIMEOUT
    dry_run: bool = False
    report_dir: Path = locations.DEFAULT_REPORT_DIR
    fuzz_seed: int = DEFAULT_FUZZ_SEED
    fuzz_examples: int = DEFAULT_FUZZ_EXAMPLES
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP
    waivers: tuple[Waiver, ...] = ()
    waivers_file: Path | None = None
    fail_on_stale_waivers: bool = False
    embedded: bool = False
    # None: the default for the target (REMOTE_RECHECKS off loopback, none on it).
    recheck: int | None = None
    # Confirmation labels (records.TOLERABLE) whose failures the verdict lets through.
    tolerate: tuple[str, ...] = ()
    rate_limit_explicit: bool = field(default=False, repr=False)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.base_url)

    @property
    def rechecks(self) -> int:
        """How many times each failing exchange is sent again before the verdict."""
        if self.recheck is not None:
            return self.recheck
        return 0 if self.loopback else REMOTE_RECHECKS

    @property
    def writes_permitted(self) -> bool:
        """Writes go to loopback targets freely, elsewhere only with --allow-writes."""
        return self.allow_writes or self.loopback

    @property
    def auth_kind(self) -> str:
        if self.bearer:
            return "bearer"
        if self.username is not None and self.password is not None:
            return "basic"
        return "none"

    def secrets(self) -> tuple[str, ...]:
        """Every form in which a credential could leak into text, longest first."""
        return tuple(
            leak_forms(
                [self.bearer] if self.bearer else [],
                users=[self.username or ""],
                passwords=[self.password] if self.password else [],
            )
        )

    def redact(self, text: str) -> str:
        return redact(text, self.secrets())

    def with_embedded(
        self,
        *,
        base_url: str,
        username: str | None,
        password: str | None,
        target_data: TargetData,
        target_file: Path | str | None,
    ) -> Settings:
        """These settings pointed at the embedded reference server instead of a configured one."""
        return dataclasses.replace(
            self,
            base_url=base_url.rstrip("/"),
            username=username,
            password=password,
            bearer=None,
            target_data=target_data,
            target_file=Path(target_file) if target_file else None,
            rate_limit=self.rate_limit if self.rate_limit_explicit else None,
            embedded=True,
        )

    def describe(self) -> str:
        """One line for report headers; shows no credential."""
        where = self.base_url or "(embedded reference server)"
        if self.embedded:
            where += " (embedded reference server)"
        rate = f"{self.rate_limit:g} req/s" if self.rate_limit else "unlimited"
        writes = "on" if self.writes_permitted else "off"
        parts = [
            f"target {where}",
            "strict" if self.strict else "lenient",
            f"writes {writes}",
            f"rate limit {rate}",
            f"auth {self.auth_kind}",
        ]
        if self.dry_run:
            parts.append("dry run")
        if self.rechecks:
            parts.append(f"{self.rechecks} re-checks")
        if self.tolerate:
            parts.append(f"lets {' and '.join(self.tolerate)} failures through")
        return ", ".join(parts)


class _CredentialsElsewhere(dict[str, str]):
    """An environment in which every variable exists (empty when unset).

    Used to read a target file when credentials came from a flag or the environment prefix, so
    that the credential variables the file names need not be set.
    """

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _pick(
    name: str, options: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[Any, str] | None:
    """The raw value of an option and where it came from (flag name or variable name)."""
    flag, var = OPTIONS[name]
    value = options.get(name)
    if not _blank(value) and value is not False:
        return value, flag
    env_value = environ.get(var)
    if not _blank(env_value):
        return env_value, var
    return None


def _bool(raw: Any, source: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"{source} must be true or false (1/0, yes/no, on/off), not {raw!r}")


def _float(raw: Any, source: str, *, positive: bool) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"{source} must be a number, not {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise SettingsError(f"{source} must be a finite number, not {raw!r}")
    if positive and value <= 0:
        raise SettingsError(f"{source} must be greater than 0, not {raw!r}")
    if value < 0:
        raise SettingsError(f"{source} must not be negative, not {raw!r}")
    return value


def _int(raw: Any, source: str, *, minimum: int | None = None) -> int:
    if isinstance(raw, bool):
        raise SettingsError(f"{source} must be an integer, not {raw!r}")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise SettingsError(f"{source} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{source} must be at least {minimum}, not {raw!r}")
    return value


def check_base_url(url: Any, source: str) -> str:
    """`url` without a trailing slash, or a SettingsError naming `source`."""
    if not isinstance(url, str):
        raise SettingsError(f"{source} must be a URL string")
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise SettingsError(f"{source} is not a valid URL: {text!r}") from None
    if parts.scheme not in ("http", "https"):
        raise SettingsError(f"{source} must start with http:// or https://, not {text!r}")
    if parts.username is not None or parts.password is not None:
        # The value holds credentials, so it is not repeated.
        raise SettingsError(f"{source} must not contain credentials; use --auth or --bearer")
    if not parts.hostname:
        raise SettingsError(f"{source} has no host: {text!r}")
    if parts.query or parts.fragment:
        raise SettingsError(f"{source} must not have a query or fragment: {text!r}")
    return text.rstrip("/")


def _recheck(options: Mapping[str, Any], environ: Mapping[str, str]) -> int | None:
    picked = _pick("recheck", options, environ)
    return _int(picked[0], picked[1], minimum=0) if picked else None


def _tolerate(options: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[str, ...]:
    """Comma-separated confirmation labels, in TOLERABLE's order; "all" names every one."""
    picked = _pick("tolerate", options, environ)
    if not picked:
        return ()
    raw, source = picked
    given = [part.strip().lower() for part in str(raw).split(",") if part.strip()]
    if given == ["all"]:
        return TOLERABLE
    unknown = [label for label in given if label not in TOLERABLE]
    if unknown or not given:
        raise SettingsError(
            f"{source} takes {', '.join(TOLERABLE)} or all (comma-separated), not {raw!r}"
        )
    return tuple(label for label in TOLERABLE if label in given)


def _auth_pair(raw: Any, source: str) -> tuple[str, str]:
    text = str(raw)
    if ":" not in text:
        raise SettingsError(f"{source} must be user:password (no colon found)")
    user, password = text.split(":", 1)
    if not user:
        raise SettingsError(f"{source} must be user:password (the user is empty)")
    return user, password


def resolve_settings(
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    ini_base_url: str | None = None,
    **overrides: Any,
) -> Settings:
    """Resolve every option: CLI flags (`options`) > environment > target file > defaults.

    `options` maps the names of `OPTIONS` to raw flag values (None or absent: not given).
    `ini_base_url` is the `base_url` key of the pytest configuration file, which comes after
    the flag and the environment and before the target file.
    `overrides` set fields that have no flag (`max_retries`, `retry_after_cap`).
    """
    opts: Mapping[str, Any] = options or {}
    env = _env(environ)

    credentials = _given_credentials(opts, env)
    credentials_given = credentials is not None
    username, password, bearer = credentials or (None, None, None)
    target_data, target_file = _read_target(opts, env, credentials_given=credentials_given)
    if target_file is not None and not credentials_given:
        username, password, bearer = _target_credentials(target_data, target_file)

    base_url = _base_url(opts, env, ini_base_url, target_data, target_file)

    picked_rate = _pick("rate_limit", opts, env)
    rate_limit: float | None
    if picked_rate:
        value = _float(picked_rate[0], picked_rate[1], positive=False)
        # 0 means "no limit", the natural way to switch the default off.
        rate_limit = value or None
    else:
        rate_limit = None if base_url is None or is_loopback(base_url) else REMOTE_RATE_LIMIT

    picked_timeout = _pick("timeout", opts, env)
    timeout = (
        _float(picked_timeout[0], picked_timeout[1], positive=True)
        if picked_timeout
        else DEFAULT_TIMEOUT
    )

    def flag(name: str) -> bool:
        picked = _pick(name, opts, env)
        return _bool(picked[0], picked[1]) if picked else False

    picked_dir = _pick("report_dir", opts, env)
    report_dir = (
        Path(str(picked_dir[0])).expanduser() if picked_dir else locations.DEFAULT_REPORT_DIR
    )
    fuzz_seed, fuzz_examples = _fuzz_budget(opts, env)
    settings = Settings(
        base_url=base_url,
        username=username,
        password=password,
        bearer=bearer,
        target_data=target_data,
        target_file=target_file,
        strict=flag("strict"),
        allow_writes=flag("allow_writes"),
        rate_limit=rate_limit,
        timeout=timeout,
        dry_run=flag("dry_run"),
        report_dir=report_dir,
        fuzz_seed=fuzz_seed,
        fuzz_examples=fuzz_examples,
        **_read_waivers(opts, env),
        fail_on_stale_waivers=flag("fail_on_stale_waivers"),
        recheck=_recheck(opts, env),
        tolerate=_tolerate(opts, env),
        rate_limit_explicit=picked_rate is not None,
    )
    return _with_overrides(settings, overrides)


def _fuzz_budget(opts: Mapping[str, Any], env: Mapping[str, str]) -> tuple[int, int]:
    """The fuzzing seed and the examples per operation."""
    picked_seed = _pick("fuzz_seed", opts, env)
    picked_examples = _pick("fuzz_examples", opts, env)
    seed = _int(picked_seed[0], picked_seed[1]) if picked_seed else DEFAULT_FUZZ_SEED
    if not picked_examples:
        return seed, DEFAULT_FUZZ_EXAMPLES
    return seed, _int(picked_examples[0], picked_examples[1], minimum=1)


def _base_url(
    options: Mapping[str, Any],
    environ: Mapping[str, str],
    ini_base_url: str | None,
    target_data: TargetData,
    target_file: Path | None,
) -> str | None:
    """The flag or environment's URL, else the pytest configuration's, else the target file's."""
    picked = _pick("base_url", options, environ)
    if picked:
        return check_base_url(picked[0], picked[1])
    if not _blank(ini_base_url):
        return check_base_url(ini_base_url, "base_url in the pytest configuration file")
    if target_data.base_url:
        return check_base_url(target_data.base_url, f"target.base_url in {target_file}")
    return None


def _given_credentials(
    options: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[str | None, str | None, str | None] | None:
    """(username, password, bearer) from flags or the environment; None when neither gives any.

    The first level (flags, then environment) that gives any credential wins as a whole.
    """
    for level in ("flag", "env"):
        picked_auth = _pick_level("auth", options, environ, level)
        picked_bearer = _pick_level("bearer", options, environ, level)
        if picked_auth and picked_bearer:
            raise SettingsError(f"{picked_auth[1]} and {picked_bearer[1]} are both set; use one")
        if picked_auth:
            username, password = _auth_pair(*picked_auth)
            return username, password, None
        if picked_bearer:
            return None, None, str(picked_bearer[0])
    return None


def _read_target(
    options: Mapping[str, Any], environ: Mapping[str, str], *, credentials_given: bool
) -> tuple[TargetData, Path | None]:
    """The target file's data and path (empty data and None when no file is named)."""
    picked = _pick("target", options, environ)
    if not picked:
        return TargetData(), None
    target_file = Path(str(picked[0])).expanduser()
    file_env: dict[str, str] = (
        _CredentialsElsewhere(environ) if credentials_given else dict(environ)
    )
    try:
        return load_target(target_file, file_env), target_file
    except TargetFileError as exc:
        where = picked[1]
        if str(target_file) not in str(exc):
            where += f" {target_file}"
        raise SettingsError(f"{where}: {exc}") from None


def _read_waivers(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The Settings fields `waivers` and `waivers_file` (none and None when no file is named)."""
    picked = _pick("waivers", options, environ)
    if not picked:
        return {"waivers": (), "waivers_file": None}
    path = Path(str(picked[0])).expanduser()
    try:
        return {"waivers": load_waivers(path), "waivers_file": path}
    except WaiverFileError as exc:
        raise SettingsError(f"{picked[1]}: {exc}") from None


def _with_overrides(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """`settings` with the fields that have no flag (`max_retries`, `retry_after_cap`) set."""
    unknown = set(overrides) - {"max_retries", "retry_after_cap"}
    if unknown:
        raise TypeError(f"unknown settings override(s): {', '.join(sorted(unknown))}")
    if "max_retries" in overrides:
        _int(overrides["max_retries"], "max_retries", minimum=0)
    if "retry_after_cap" in overrides:
        _float(overrides["retry_after_cap"], "retry_after_cap", positive=False)
    return dataclasses.replace(settings, **overrides) if overrides else settings


def _pick_level(
    name: str, options: Mapping[str, Any], environ: Mapping[str, str], level: str
) -> tuple[Any, str] | None:
    flag, var = OPTIONS[name]
    if level == "flag":
        value = options.get(name)
        return (value, flag) if not _blank(value) else None
    env_value = environ.get(var)
    return (env_value, var) if not _blank(env_value) else None


def _target_credentials(data: TargetData, path: Path) -> tuple[str | None, str | None, str | None]:
    if data.bearer and (data.username or data.password):
        raise SettingsError(
            f"target file {path} names both username_env/password_env and bearer_env; use one"
        )
    if data.bearer:
        return None, None, data.bearer
    if (data.username is None) != (data.password is None):
        raise SettingsError(
            f"target file {path} names only one of target.username_env and target.password_env"
        )
    return data.username, data.password, None
