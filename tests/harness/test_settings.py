"""Settings resolution: precedence, loopback detection, defaults, and one-line errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from points_conformance.settings import (
    DEFAULT_TIMEOUT,
    REMOTE_RATE_LIMIT,
    Settings,
    SettingsError,
    is_loopback,
    resolve_settings,
)
from points_conformance.target import TargetData


def write_target(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "target.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


TARGET = """
    [target]
    base_url = "https://file.example.com"
    username_env = "FILE_USER"
    password_env = "FILE_PASSWORD"
    org_id = 50406
    timezone = "Asia/Kolkata"

    [customers.rich]
    id = "1003"
    mobile = "919000000001"
"""
FILE_ENV = {"FILE_USER": "file-user", "FILE_PASSWORD": "file-secret"}


def test_defaults_without_any_source() -> None:
    settings = resolve_settings({}, {})
    assert settings.base_url is None
    assert settings.strict is False and settings.allow_writes is False
    assert settings.dry_run is False
    assert settings.timeout == DEFAULT_TIMEOUT
    assert settings.rate_limit is None
    assert settings.max_retries == 3 and settings.retry_after_cap == 30.0
    assert settings.report_dir == Path("reports")
    assert settings.auth_kind == "none"


def test_target_file_supplies_url_credentials_and_data(tmp_path: Path) -> None:
    path = write_target(tmp_path, TARGET)
    settings = resolve_settings({"target": str(path)}, FILE_ENV)
    assert settings.base_url == "https://file.example.com"
    assert (settings.username, settings.password) == ("file-user", "file-secret")
    assert settings.target_data.org_id == 50406
    assert settings.target_data.customers["rich"].mobile == "919000000001"
    assert settings.target_file == path
    # Not loopback, so the polite default applies.
    assert settings.rate_limit == REMOTE_RATE_LIMIT


def test_environment_beats_target_file_and_flags_beat_environment(tmp_path: Path) -> None:
    path = write_target(tmp_path, TARGET)
    env = {
        **FILE_ENV,
        "POINTS_CONFORMANCE_TARGET": str(path),
        "POINTS_CONFORMANCE_BASE_URL": "http://env.example.com/",
        "POINTS_CONFORMANCE_AUTH": "env-user:env:secret",
        "POINTS_CONFORMANCE_TIMEOUT": "3",
        "POINTS_CONFORMANCE_RATE_LIMIT": "4",
        "POINTS_CONFORMANCE_STRICT": "yes",
        "POINTS_CONFORMANCE_FUZZ_SEED": "7",
        "POINTS_CONFORMANCE_FUZZ_EXAMPLES": "9",
        "POINTS_CONFORMANCE_REPORT_DIR": str(tmp_path / "env-reports"),
    }
    from_env = resolve_settings({}, env)
    assert from_env.base_url == "http://env.example.com"
    assert (from_env.username, from_env.password) == ("env-user", "env:secret")
    assert from_env.timeout == 3.0 and from_env.rate_limit == 4.0
    assert from_env.strict is True
    assert (from_env.fuzz_seed, from_env.fuzz_examples) == (7, 9)
    assert from_env.report_dir == tmp_path / "env-reports"
    # The file still provides the test data.
    assert from_env.target_data.org_id == 50406

    flags = {
        "base_url": "http://127.0.0.1:8080",
        "auth": "flag-user:flag-secret",
        "timeout": "1.5",
        "rate_limit": "2",
        "fuzz_seed": "11",
        "report_dir": str(tmp_path / "flag-reports"),
    }
    from_flags = resolve_settings(flags, env)
    assert from_flags.base_url == "http://127.0.0.1:8080"
    assert (from_flags.username, from_flags.password) == ("flag-user", "flag-secret")
    assert from_flags.timeout == 1.5 and from_flags.rate_limit == 2.0
    assert from_flags.fuzz_seed == 11 and from_flags.fuzz_examples == 9
    assert from_flags.report_dir == tmp_path / "flag-reports"


def test_bearer_from_a_higher_level_replaces_file_basic_credentials(tmp_path: Path) -> None:
    path = write_target(tmp_path, TARGET)
    # The file's credential variables are unset: that is fine when credentials come from above.
    settings = resolve_settings({"target": str(path), "bearer": "tok-123"}, {})
    assert settings.bearer == "tok-123"
    assert settings.username is None and settings.password is None
    assert settings.auth_kind == "bearer"


def test_file_credential_variables_must_be_set_when_used(tmp_path: Path) -> None:
    path = write_target(tmp_path, TARGET)
    with pytest.raises(SettingsError, match="FILE_USER, which is not set"):
        resolve_settings({"target": str(path)}, {})


def test_switches_from_flags_override_environment_false() -> None:
    env = {"POINTS_CONFORMANCE_ALLOW_WRITES": "0", "POINTS_CONFORMANCE_DRY_RUN": "off"}
    assert resolve_settings({}, env).allow_writes is False
    flagged = resolve_settings({"allow_writes": True, "dry_run": True}, env)
    assert flagged.allow_writes is True and flagged.dry_run is True


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.8.9.10/", True),
        ("http://localhost:5000/api", True),
        ("http://LOCALHOST.", True),
        ("http://[::1]:8080", True),
        ("http://[::ffff:127.0.0.1]/", True),
        ("https://staging.example.com", False),
        ("http://10.0.0.1", False),
        ("http://128.0.0.1", False),
        ("http://localhost.example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_is_loopback(url: str | None, expected: bool) -> None:
    assert is_loopback(url) is expected


def test_default_rate_limit_depends_on_the_host() -> None:
    assert resolve_settings({"base_url": "http://127.0.0.1:1"}, {}).rate_limit is None
    assert resolve_settings({"base_url": "http://localhost:1"}, {}).rate_limit is None
    assert resolve_settings({"base_url": "https://api.example.com"}, {}).rate_limit == 10.0
    # 0 switches the limit off explicitly, even off loopback.
    off = resolve_settings({"base_url": "https://api.example.com", "rate_limit": "0"}, {})
    assert off.rate_limit is None


def test_writes_permitted_on_loopback_or_with_allow_writes() -> None:
    assert resolve_settings({"base_url": "http://127.0.0.1:1"}, {}).writes_permitted
    remote = resolve_settings({"base_url": "https://api.example.com"}, {})
    assert not remote.writes_permitted
    allowed = resolve_settings({"base_url": "https://api.example.com", "allow_writes": True}, {})
    assert allowed.writes_permitted


def test_secrets_are_never_in_repr_or_str() -> None:
    settings = resolve_settings({"base_url": "http://127.0.0.1:1", "auth": "alice:s3cret-pw"}, {})
    bearer = resolve_settings({"base_url": "http://127.0.0.1:1", "bearer": "tok-XYZ-999"}, {})
    for text in (repr(settings), str(settings), settings.describe()):
        assert "s3cret-pw" not in text
    for text in (repr(bearer), str(bearer), bearer.describe()):
        assert "tok-XYZ-999" not in text
    assert settings.redact("pw=s3cret-pw basic=YWxpY2U6czNjcmV0LXB3") == "pw=**** basic=****"


def test_with_embedded_points_everything_at_the_reference_server() -> None:
    base = resolve_settings({"auth": "a:b", "strict": True}, {})
    data = TargetData(org_id=1)
    moved = base.with_embedded(
        base_url="http://127.0.0.1:4321/",
        username="ref",
        password="ref-pw",
        target_data=data,
        target_file="/tmp/t.toml",
    )
    assert moved.base_url == "http://127.0.0.1:4321"
    assert (moved.username, moved.password, moved.embedded) == ("ref", "ref-pw", True)
    assert moved.target_data is data and moved.strict is True
    assert moved.rate_limit is None


def test_overrides_set_fields_without_flags() -> None:
    settings = resolve_settings({}, {}, max_retries=1, retry_after_cap=2.5)
    assert (settings.max_retries, settings.retry_after_cap) == (1, 2.5)
    with pytest.raises(TypeError):
        resolve_settings({}, {}, nonsense=1)


BAD_TOML = "[target\nbase_url = 1\n"


@pytest.mark.parametrize(
    ("options", "environ", "fragment"),
    [
        ({"base_url": "ftp://example.com"}, {}, "--base-url must start with http:// or https://"),
        ({"base_url": "http://"}, {}, "--base-url has no host"),
        ({"base_url": "example.com"}, {}, "--base-url must start with http"),
        ({"base_url": "http://host:99999999"}, {}, "--base-url is not a valid URL"),
        ({"base_url": "http://u:pw@host"}, {}, "must not contain credentials"),
        ({}, {"POINTS_CONFORMANCE_BASE_URL": "nope"}, "POINTS_CONFORMANCE_BASE_URL must start"),
        ({"auth": "no-colon-here"}, {}, "--auth must be user:password (no colon found)"),
        ({"auth": ":pw"}, {}, "--auth must be user:password (the user is empty)"),
        ({}, {"POINTS_CONFORMANCE_AUTH": "nocolon"}, "POINTS_CONFORMANCE_AUTH must be user"),
        ({"auth": "a:b", "bearer": "t"}, {}, "--auth and --bearer are both set"),
        ({"rate_limit": "fast"}, {}, "--rate-limit must be a number, not 'fast'"),
        ({"rate_limit": "-1"}, {}, "--rate-limit must not be negative"),
        ({"timeout": "soon"}, {}, "--timeout must be a number, not 'soon'"),
        ({"timeout": "0"}, {}, "--timeout must be greater than 0"),
        ({"timeout": "nan"}, {}, "--timeout must be a finite number"),
        ({}, {"POINTS_CONFORMANCE_TIMEOUT": "x"}, "POINTS_CONFORMANCE_TIMEOUT must be a number"),
        ({}, {"POINTS_CONFORMANCE_RATE_LIMIT": "x"}, "POINTS_CONFORMANCE_RATE_LIMIT must be"),
        ({}, {"POINTS_CONFORMANCE_STRICT": "maybe"}, "POINTS_CONFORMANCE_STRICT must be true"),
        ({}, {"POINTS_CONFORMANCE_DRY_RUN": "2"}, "POINTS_CONFORMANCE_DRY_RUN must be true"),
        ({}, {"POINTS_CONFORMANCE_ALLOW_WRITES": "si"}, "POINTS_CONFORMANCE_ALLOW_WRITES must"),
        ({"fuzz_seed": "abc"}, {}, "--fuzz-seed must be an integer"),
        ({}, {"POINTS_CONFORMANCE_FUZZ_SEED": "1.5"}, "POINTS_CONFORMANCE_FUZZ_SEED must be an"),
        ({"fuzz_examples": "0"}, {}, "--fuzz-examples must be at least 1"),
        ({"target": "/no/such/target.toml"}, {}, "cannot read target file"),
    ],
)
def test_every_validation_error_is_one_line_naming_the_problem(
    options: dict[str, str], environ: dict[str, str], fragment: str
) -> None:
    with pytest.raises(SettingsError) as info:
        resolve_settings(options, environ)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_target_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = write_target(tmp_path, BAD_TOML)
    with pytest.raises(SettingsError) as info:
        resolve_settings({"target": str(bad)}, {})
    assert "not valid TOML" in str(info.value) and "\n" not in str(info.value)
    assert str(bad) in str(info.value)

    wrong_url = write_target(tmp_path, '[target]\nbase_url = "mailto:x@y"\n')
    with pytest.raises(SettingsError, match=r"target.base_url in .* must start with http"):
        resolve_settings({"target": str(wrong_url)}, {})

    both = write_target(
        tmp_path,
        '[target]\nbase_url = "http://127.0.0.1:1"\nusername_env = "U"\n'
        'password_env = "P"\nbearer_env = "B"\n',
    )
    with pytest.raises(SettingsError, match="names both"):
        resolve_settings({"target": str(both)}, {"U": "u", "P": "p", "B": "b"})


def test_credentials_are_not_echoed_in_errors() -> None:
    with pytest.raises(SettingsError) as info:
        resolve_settings({"base_url": "http://admin:hunter2@host"}, {})
    assert "hunter2" not in str(info.value)
    with pytest.raises(SettingsError) as info:
        resolve_settings({"auth": "hunter2-without-colon"}, {})
    assert "hunter2" not in str(info.value)


def test_settings_is_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.strict = True  # type: ignore[misc]
