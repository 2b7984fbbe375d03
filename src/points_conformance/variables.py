"""The names of the environment variables the harness knows. Only `settings` reads them; other
modules name them (a curl repro refers to `$POINTS_CONFORMANCE_USER`, a help text to the report
folder's variable) without importing the settings layer."""

from __future__ import annotations

ENV_PREFIX = "POINTS_CONFORMANCE_"

BASE_URL_ENV = ENV_PREFIX + "BASE_URL"
TARGET_ENV = ENV_PREFIX + "TARGET"
AUTH_ENV = ENV_PREFIX + "AUTH"
BEARER_ENV = ENV_PREFIX + "BEARER"
STRICT_ENV = ENV_PREFIX + "STRICT"
ALLOW_WRITES_ENV = ENV_PREFIX + "ALLOW_WRITES"
RATE_LIMIT_ENV = ENV_PREFIX + "RATE_LIMIT"
TIMEOUT_ENV = ENV_PREFIX + "TIMEOUT"
DRY_RUN_ENV = ENV_PREFIX + "DRY_RUN"
REPORT_DIR_ENV = ENV_PREFIX + "REPORT_DIR"
FUZZ_SEED_ENV = ENV_PREFIX + "FUZZ_SEED"
FUZZ_EXAMPLES_ENV = ENV_PREFIX + "FUZZ_EXAMPLES"
WAIVERS_ENV = ENV_PREFIX + "WAIVERS"
FAIL_ON_STALE_WAIVERS_ENV = ENV_PREFIX + "FAIL_ON_STALE_WAIVERS"
RECHECK_ENV = ENV_PREFIX + "RECHECK"
TOLERATE_ENV = ENV_PREFIX + "TOLERATE"

SPECS_DIR_ENV = ENV_PREFIX + "SPECS_DIR"
PROGRESS_ENV = ENV_PREFIX + "PROGRESS"
CI_ENV = "CI"
# pytest-base-url's variable: the default of `--base-url`, whichever plugin defines it.
PYTEST_BASE_URL_ENV = "PYTEST_BASE_URL"
# The credentials curl repros refer to; a reader exports them to repeat a request.
USER_ENV = ENV_PREFIX + "USER"
PASSWORD_ENV = ENV_PREFIX + "PASSWORD"
CREDENTIAL_VARIABLES = (USER_ENV, PASSWORD_ENV, BEARER_ENV)
