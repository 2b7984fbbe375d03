"""Whether a failed before/after comparison of balances can be trusted.

A transfer test reads two balances, sends its request, and reads them again; the difference is
put down to the server. It is not the server's when another client wrote to the same customers
in between: another run against the same target, or other traffic on a shared staging server.
Nothing in the two readings tells the two apart, so when the comparison fails the test watches
the balances a while longer with nothing sent to them. If they move on their own, the
comparison was made under someone else's writes and says nothing of the server: the test skips
and says why, rather than failing the server (its requirements then count as exercised only
where other tests judged them). If they hold still, the failure stands. Within one run, `-n` workers take turns on the customers
(`plugin.lock`), so a run's own tests never trip this.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pytest

from points_conformance.checks.transfer_state import BalanceReading
from points_conformance.model import Finding
from points_conformance.plugin.fixtures import FindingsRecorder

# The watch: this many readings of the balances, this far apart (about a second in all, long
# enough to meet another run's transfers, which come a few per second).
WATCH_READINGS = 5
WATCH_PAUSE_S = 0.25

Reader = Callable[[], tuple[list[BalanceReading] | None, list[Finding]]]


def moved_on_their_own(read: Reader, roles: Sequence[str]) -> str | None:
    """Why the balances `read` returns (in the order of `roles`) cannot be trusted, or None.

    A reading that fails says nothing either way, and the comparison's failure stands.
    """
    first, _ = read()
    if first is None:
        return None
    for _ in range(WATCH_READINGS - 1):
        time.sleep(WATCH_PAUSE_S)
        again, _ = read()
        if again is None:
            return None
        for role, old, new in zip(roles, first, again, strict=True):
            if old.value != new.value:
                return (
                    f"{role}'s balance went from {old.value} to {new.value} while the test sent "
                    "nothing: another client writes to these customers (another run against "
                    "this target?), so the balances before and after the request were not judged"
                )
    return None


def add_state(
    findings: FindingsRecorder, state: Sequence[Finding], read: Reader, roles: Sequence[str]
) -> None:
    """Record the findings of a before/after comparison of balances when the balances hold
    still on their own; when they move, skip the test and say why, unless it has failed on
    something else already (it then fails on that alone)."""
    if not state:
        return
    why = moved_on_their_own(read, roles)
    if why is None:
        findings.add(state)
    elif not findings.findings:
        pytest.skip(why)
