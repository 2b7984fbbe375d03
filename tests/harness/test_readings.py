"""The reading registry and `points-conformance selftest --readings`.

Unit tests of the registry (register entries, names, composition, the serve listing and its
usage errors, the selftest plans) and one end-to-end run of a few readings in a subprocess: the
default run must raise no false alarm against a server that took another documented reading.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from points_conformance import selftest
from points_conformance.catalogue import load_catalogue
from points_conformance.embedded import start_embedded
from points_conformance.reference import faults, readings
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.selftest.plan import make_reading_plans

REGISTER = load_catalogue().discrepancies
NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# One reading each of an error code, a body shape and a pagination rule, on operations whose
# tests are quick to select (the cross-member ledger, the reversal, the v2.1 ledger).
FAST_READINGS = (
    "cml-wrapped-in-entity",
    "reverse-errors-as-warnings",
    "corg-missing-scope-as-self",
)
FAST_TIMEOUT = 120


def test_every_reading_names_a_register_entry_with_a_stance() -> None:
    requirements = load_catalogue().requirements
    assert len(readings.registry()) >= 18
    for reading in readings.registry().values():
        assert reading.discrepancy in REGISTER, reading.name
        entry = REGISTER[reading.discrepancy]
        assert entry.stance and entry.stance.strip(), reading.name
        assert entry.affects, reading.name
        assert [
            op
            for rid in entry.affects
            if rid in requirements
            for op in requirements[rid].operations
        ], reading.name
        assert reading.description.strip(), reading.name


def test_names_are_unique_and_well_formed() -> None:
    names = [name for name, _, _ in readings.list_readings()]
    assert len(names) == len(set(names))
    assert all(NAME.fullmatch(name) for name in names), names
    with pytest.raises(ValueError, match="registered twice"):
        readings.reading(names[0], discrepancy="D-013", description="again")(lambda b, h: b)
    with pytest.raises(ValueError, match="register ID"):
        readings.reading("bad-entry", discrepancy="13", description="no")


def test_the_listed_entries_have_readings() -> None:
    covered = {r.discrepancy for r in readings.registry().values()}
    wanted = {"D-007", "D-012", "D-013", "D-015", "D-016", "D-022", "D-023", "D-030", "D-032"}
    wanted |= {"D-036", "D-048", "D-049", "D-050", "D-051", "D-057", "D-060", "D-061", "D-062"}
    assert wanted <= covered


def test_every_reading_changes_the_server() -> None:
    for reading in readings.registry().values():
        result = reading.function(Behaviour(), Hooks())
        parts = result if isinstance(result, tuple) else (result,)
        changed = [
            p for p in parts if (p != Behaviour() if isinstance(p, Behaviour) else p != Hooks())
        ]
        assert changed, f"{reading.name} changes neither a rule nor a hook"


def test_readings_compose_with_each_other_and_with_faults() -> None:
    behaviour, hooks = readings.apply(
        ["cml-wrapped-in-entity", "ledger-orgid-duplicated"], Behaviour(), Hooks()
    )
    behaviour, hooks = faults.apply(["ledger-window-30-days"], behaviour, hooks)
    assert behaviour.cml_wrap_in_entity and behaviour.ledger_window_days == 30
    request: Any = None
    body = {"ledgerEntries": [{"orgId": 7}]}
    status, changed = hooks.response_hook("getCustomerLedgerInfo", request, 200, body)
    assert (status, changed["ledgerEntries"]) == (200, [{"orgId": 7, "orgID": 7}])
    with pytest.raises(KeyError, match="no-such-reading"):
        readings.apply(["no-such-reading"], Behaviour(), Hooks())


def test_embedded_server_with_a_reading() -> None:
    """401 with an empty body: the one answer a response hook marks rather than writes."""
    with start_embedded(readings=["auth-401-empty-body"], in_process=True) as server:
        url = f"{server.url}/v2/points/transfer"
        answer = httpx.get(url, params={"identifierName": "mobile", "identifierValue": "1"})
        assert answer.status_code == 401
        assert answer.content == b""
        assert "content-type" not in answer.headers


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--readings", "--reading", "no-such-reading"], "no-such-reading"),
        (["--reading", "no-such-reading"], "no-such-reading"),
        (["--readings", "--fault", "ledger-orgid-renamed"], "--fault"),
        (["--readings", "--fast"], "--fast"),
    ],
)
def test_selftest_reading_usage_errors_exit_2_in_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert selftest.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("points-conformance selftest: error:")
    assert needle in err


def test_reading_plans_follow_the_register_entry() -> None:
    plans = make_reading_plans(
        ["cml-wrapped-in-entity", "ledger-orgid-duplicated"], markexpr=None, keyword="walk"
    )
    by_label = {p.label: p for p in plans}
    assert set(by_label) == {
        "cml-wrapped-in-entity (default)",
        "cml-wrapped-in-entity (strict)",
        "ledger-orgid-duplicated (default)",
        "ledger-orgid-duplicated (strict)",
    }
    cml = by_label["cml-wrapped-in-entity (default)"]
    assert (cml.reading, cml.discrepancy, cml.strict) == ("cml-wrapped-in-entity", "D-013", False)
    assert cml.selection == ("-m", "(cross_member) and not fuzz", "-k", "walk")
    ledger = by_label["ledger-orgid-duplicated (strict)"]
    assert ledger.strict and ledger.fault is None
    assert ledger.selection == ("-m", "(ledger or connected_orgs) and not fuzz", "-k", "walk")
    not_enforced = [
        r for r in readings.registry().values() if not REGISTER[r.discrepancy].enforced_by_strict
    ]
    for reading in not_enforced:
        labels = [p.label for p in make_reading_plans([reading.name], markexpr=None, keyword=None)]
        assert labels == [f"{reading.name} (default)"]


def test_fast_readings_raise_no_false_alarm(tmp_path: Path) -> None:
    """A few readings against real servers, default and strict stance (under a minute)."""
    out = tmp_path / "readings.json"
    command = [sys.executable, "-m", "points_conformance.selftest", "--readings", "--jobs", "2"]
    for name in FAST_READINGS:
        command += ["--reading", name]
    result = subprocess.run(
        [*command, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=FAST_TIMEOUT,
        check=False,
    )
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert "false alarms in the default stance: 0" in result.stdout, output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["summary"]["false_alarms"] == 0, document["summary"]
    assert document["summary"]["errors"] == [], document["summary"]
    assert sorted(document["summary"]["passed"]) == sorted(FAST_READINGS)
    runs = {run["label"]: run for run in document["runs"]}
    assert runs["cml-wrapped-in-entity (strict)"]["verdict"] == "distinguished", output
