"""Pairs of exchanges a judge of traffic judges together (`har.pairing`,
`har.ledger_pairing`), from hand-built exchanges: balances and ledgers read around a transfer
or reversal, and a reversal repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from points_conformance.checks import CheckContext
from points_conformance.har.judging import Judge, traffic_requirements
from points_conformance.har.ledger_pairing import MAX_READS as LEDGER_MAX_READS
from points_conformance.har.ledger_pairing import LedgerPairs
from points_conformance.har.pairing import MAX_READS, Pairs, kind
from points_conformance.model import Exchange, Finding

from .test_checks_support import LENIENT, STRICT, make_exchange

DATE = {"Date": "Thu, 03 Dec 2026 16:05:51 GMT"}
AS_OF_NOW = "2026-12-04T16:05:52"
SOURCE = ("919000005007", 5007)
DESTINATION = ("919000005008", 5008)
PROGRAM = 1148


def balance(
    who: tuple[str, int], main: str, *, end: str = AS_OF_NOW, extra: dict[str, str] | None = None
) -> Exchange:
    mobile, user_id = who
    params = {
        "identifierName": "mobile",
        "identifierValue": mobile,
        "source": "INSTORE",
        "endDate": end,
        "offset": "0",
        **(extra or {}),
    }
    rows = [
        {"pointsCategory": "Main", "programName": "P", "programId": PROGRAM, "closingBalance": main}
    ]
    body = {
        "customerDetails": {"userId": user_id, "entityType": "CUSTOMER"},
        "ledgerDetails": {
            "pageNumber": 0,
            "pageSize": 10,
            "totalEntries": 1,
            "pageCount": 1,
            "ledgerClosingBalance": rows,
        },
        "warnings": [],
    }
    return make_exchange("getCustomerLedgerBalance", body, params=params, response_headers=DATE)


def transfer(points: int, *, status: int = 200, source_type: str = "ID") -> Exchange:
    sent = {
        "pointsTobeTransferred": points,
        "programId": PROGRAM,
        "fromCustomerIdentifier": {"type": source_type, "value": str(SOURCE[1])},
        "toCustomerIdentifier": {"type": "MOBILE", "value": DESTINATION[0]},
        "code": "X12Y3Z",
    }
    answer: dict[str, Any] = (
        {
            "data": [
                {
                    "pointsTransferred": points,
                    "transferId": 1,
                    "transferredFrom": {"userId": SOURCE[1]},
                    "transferredTo": {"userId": DESTINATION[1]},
                }
            ],
            "warnings": [],
        }
        if status < 400
        else {"data": [], "errors": [{"code": 804, "message": "Insufficient points"}]}
    )
    return make_exchange("transferPoints", answer, status=status, request_body=sent)


def reversal(redemption: str, points: int | None, *, status: int = 200) -> Exchange:
    sent: dict[str, Any] = {
        "redemptionId": redemption,
        "identifier": {"type": "mobile", "value": SOURCE[0]},
    }
    if points is not None:
        sent["pointsToBeReversed"] = points
    answer: dict[str, Any] = (
        {
            "redemptionId": redemption,
            "identifier": sent["identifier"],
            "customerId": SOURCE[1],
            "pointsReversed": points if points is not None else 20,
            "warnings": [],
        }
        if status < 400
        else {"errors": [{"code": 3802, "message": "Already reversed"}]}
    )
    return make_exchange("reversePoints", answer, status=status, request_body=sent)


def judged(ctx: CheckContext, exchanges: Sequence[Exchange]) -> tuple[Judge, list[Finding]]:
    judge = Judge(ctx)
    found: list[Finding] = []
    for ex in exchanges:
        found += judge.judge("pairs.har", ex)
    judge.file_ended()
    return judge, found


def around(
    write: Exchange, after: tuple[str, str], *, middle: Sequence[Exchange] = ()
) -> list[Exchange]:
    return [
        balance(SOURCE, "100.000"),
        balance(DESTINATION, "50.000"),
        write,
        *middle,
        balance(SOURCE, after[0]),
        balance(DESTINATION, after[1]),
    ]


def test_a_transfer_that_moves_its_points_conforms() -> None:
    judge, found = judged(LENIENT, around(transfer(10), ("90.000", "60.000")))
    assert found == []
    assert judge.pairs_judged == 1


def test_a_credit_never_written_breaks_conservation() -> None:
    judge, found = judged(LENIENT, around(transfer(10), ("90.000", "50.000")))
    assert judge.pairs_judged == 1
    assert [f.requirement for f in found] == ["XFER-STATE-CONSERVE"]
    assert "destination balance went from 50.000 to 50.000" in found[0].actual
    assert found[0].exchange is not None and found[0].exchange.operation == "transferPoints"


def group_transfer(points: int) -> Exchange:
    sent = {
        "pointsTobeTransferred": points,
        "programId": PROGRAM,
        "transferredBy": {"identifierType": "mobile", "identifierValue": DESTINATION[0]},
        "fromEntity": {"type": "USERGROUP2", "identifierType": "id", "identifierValue": "7001"},
        "toEntity": {"type": "CUSTOMER", "identifierType": "mobile", "identifierValue": "x"},
    }
    answer = {
        "data": [{"pointsTransferred": points, "transferredTo": {"userId": DESTINATION[1]}}],
        "warnings": [],
    }
    return make_exchange("transferPointsUserGroup", answer, request_body=sent)


def test_a_group_transfer_is_judged_on_its_customer_side() -> None:
    # The customer is named by a mobile no read uses: the answer's userId ties it to the reads.
    for after, wanted in (("60.000", []), ("50.000", ["XFER-STATE-CONSERVE"])):
        exchanges = [
            balance(DESTINATION, "50.000"),
            group_transfer(10),
            balance(DESTINATION, after),
        ]
        judge, found = judged(LENIENT, exchanges)
        assert judge.pairs_judged == 1
        assert [f.requirement for f in found] == wanted


def test_a_refused_transfer_that_moves_points_breaks_the_refusal_rule() -> None:
    _, found = judged(LENIENT, around(transfer(10, status=400), ("90.000", "50.000")))
    assert [f.requirement for f in found] == ["XFER-STATE-REJECTED"]


def test_another_write_in_between_leaves_the_pair_unjudged() -> None:
    _, found = judged(
        LENIENT,
        around(transfer(10), ("80.000", "50.000"), middle=[reversal("R9", 5, status=400)]),
    )
    judge, _ = judged(LENIENT, around(transfer(10), ("80.000", "50.000"), middle=[transfer(1)]))
    assert found == []
    assert judge.pairs_judged == 0


def test_a_customer_named_by_an_unknown_identifier_is_not_paired() -> None:
    # A refused transfer by email: no answer shows whose email it is, and no read names it.
    write = transfer(10, status=400, source_type="EMAIL")
    judge, found = judged(LENIENT, around(write, ("0.000", "50.000")))
    # Only the destination (named by mobile, as its balance is read) is compared.
    assert [f.requirement for f in found] == []
    assert judge.pairs_judged == 1
    alone = [balance(SOURCE, "100.000"), write, balance(SOURCE, "0.000")]
    judge, found = judged(LENIENT, alone)
    assert (judge.pairs_judged, found) == (0, [])


def test_reads_that_are_not_as_of_now_or_filtered_are_not_paired() -> None:
    past = [
        balance(SOURCE, "100.000", end="2026-01-01T00:00:00"),
        transfer(10),
        balance(SOURCE, "100.000", end="2026-01-01T00:00:00"),
    ]
    filtered = [
        balance(SOURCE, "100.000", extra={"tillId": "11"}),
        transfer(10),
        balance(SOURCE, "100.000", extra={"tillId": "11"}),
    ]
    for exchanges in (past, filtered):
        judge, found = judged(LENIENT, exchanges)
        assert (judge.pairs_judged, found) == (0, [])


def test_a_reversal_returns_its_points_to_the_balance() -> None:
    ok = [balance(SOURCE, "100.000"), reversal("R1", 5), balance(SOURCE, "105.000")]
    lost = [balance(SOURCE, "100.000"), reversal("R1", 5), balance(SOURCE, "100.000")]
    assert judged(LENIENT, ok)[1] == []
    assert [f.requirement for f in judged(LENIENT, lost)[1]] == ["REV-STATE-BALANCE"]


def test_a_repeated_full_reversal_accepted_is_a_finding_in_the_strict_reading() -> None:
    again = [reversal("R2", None), reversal("R2", None)]
    judge, found = judged(STRICT, again)
    assert judge.pairs_judged == 1
    assert [f.requirement for f in found] == ["REV-STATE-TWICE"]
    # Refused as already reversed: what the rule asks.
    judge, found = judged(STRICT, [reversal("R2", None), reversal("R2", None, status=400)])
    assert (judge.pairs_judged, found) == (1, [])
    # The default reading gives a reversal without pointsToBeReversed no meaning (D-091).
    judge, found = judged(LENIENT, again)
    assert (judge.pairs_judged, found) == (0, [])
    # A first answer that warns (D-036) may have reversed nothing.
    warned = reversal("R4", None)
    body = {**warned.response.json, "warnings": [{"code": 902, "message": "Invalid"}]}
    warned = make_exchange(
        "reversePoints", body, request_body=warned.request.body, response_headers=DATE
    )
    judge, found = judged(STRICT, [warned, reversal("R4", None)])
    assert (judge.pairs_judged, found) == (0, [])
    # A partial reversal leaves the rest: a second one is no repeat.
    judge, found = judged(STRICT, [reversal("R3", 1), reversal("R3", 1)])
    assert (judge.pairs_judged, found) == (0, [])


def test_a_write_never_read_after_is_counted_as_incomplete() -> None:
    judge, found = judged(LENIENT, [balance(SOURCE, "100.000"), transfer(10)])
    assert (judge.pairs_judged, judge.pairs.dropped, found) == (0, 1, [])


def test_the_pairs_stay_bounded() -> None:
    pairs = Pairs()
    for n in range(MAX_READS * 2):
        pairs.add(balance((f"91{n:010d}", n), "1.000"))
    assert len(pairs.reads) <= MAX_READS


def test_identifier_kinds_compare_as_the_operations_spell_them() -> None:
    assert kind("EXTERNAL_ID") == kind("externalId") and kind("MOBILE") == kind("mobile")


def test_the_pair_rules_are_spoken_for() -> None:
    assert {"XFER-STATE-CONSERVE", "XFER-STATE-REJECTED", "REV-STATE-BALANCE"} <= (
        traffic_requirements()
    )
    assert {"REV-STATE-TWICE", "XFER-STATE-LEDGER", "REV-STATE-LEDGER"} <= traffic_requirements()
    assert "XFER-STATE-HISTORY" not in traffic_requirements()


# -- ledgers read around a write (`har.ledger_pairing`) ------------------------------------------


def event(log_id: int, kind: str, points: int) -> dict[str, Any]:
    signed = points if kind == "CREDIT" else -points
    return {
        "eventLogId": log_id,
        "eventName": "PointsTransfer",
        "netPointsOnEvent": f"{signed}.000",
        "ledgerCreatedDate": "2026-12-03 16:05:51.0",
        "entryDetails": [{"ledgerEntryType": kind, "points": f"{points}.000"}],
    }


def ledger(
    who: tuple[str, int], events: Sequence[dict[str, Any]], *, extra: dict[str, str] | None = None
) -> Exchange:
    mobile, user_id = who
    params = {
        "identifierName": "mobile",
        "identifierValue": mobile,
        "source": "INSTORE",
        "isFilterBasedOnDate": "false",
        "limit": "100",
        "offset": "0",
        **(extra or {}),
    }
    body = {
        "customerDetails": {"userId": user_id, "entityType": "CUSTOMER"},
        "ledgerDetails": {
            "pageNumber": 0,
            "pageSize": 100,
            "totalEntries": len(events),
            "pageCount": 1,
        },
        "ledgerEntries": list(events),
        "warnings": [],
    }
    return make_exchange("getCustomerLedgerInfo", body, params=params, response_headers=DATE)


def requirements(found: Sequence[Finding]) -> list[str]:
    return [f.requirement for f in found]


OLD = [event(1, "CREDIT", 100)]


def ledgers_around(
    write: Exchange,
    source_new: list[Any],
    destination_new: list[Any],
    *,
    middle: Sequence[Exchange] = (),
) -> list[Exchange]:
    return [
        ledger(SOURCE, OLD),
        ledger(DESTINATION, OLD[:0]),
        write,
        *middle,
        ledger(SOURCE, [*OLD, *source_new]),
        ledger(DESTINATION, destination_new),
    ]


def test_a_transfer_shown_in_both_ledgers_conforms() -> None:
    exchanges = ledgers_around(transfer(10), [event(2, "DEBIT", 10)], [event(3, "CREDIT", 10)])
    judge, found = judged(LENIENT, exchanges)
    assert requirements(found) == []
    assert judge.pairs_judged == 1
    assert [t for (_, name), t in judge.tallies.items() if name.endswith("ledgers around writes")]


def test_a_credit_missing_from_the_destination_ledger_is_a_finding() -> None:
    exchanges = ledgers_around(transfer(10), [event(2, "DEBIT", 10)], [])
    judge, found = judged(LENIENT, exchanges)
    assert judge.pairs_judged == 1
    assert requirements(found) == ["XFER-STATE-LEDGER"]
    assert "destination's ledger does not show the transfer of 10" in found[-1].message
    assert found[-1].exchange is not None
    assert found[-1].exchange.operation == "getCustomerLedgerInfo"


def test_a_write_between_the_ledger_reads_leaves_them_unjudged() -> None:
    exchanges = ledgers_around(transfer(10), [], [], middle=[transfer(1)])
    judge, found = judged(LENIENT, exchanges)
    assert (judge.pairs_judged, requirements(found)) == (0, [])


def test_a_reversal_shows_in_the_ledger() -> None:
    shown = [ledger(SOURCE, OLD), reversal("R1", 5), ledger(SOURCE, [*OLD, event(4, "CREDIT", 5)])]
    lost = [ledger(SOURCE, OLD), reversal("R1", 5), ledger(SOURCE, OLD)]
    assert requirements(judged(LENIENT, shown)[1]) == []
    assert requirements(judged(LENIENT, lost)[1]) == ["REV-STATE-LEDGER"]
    # An accepted reversal that returned nothing has no event to show.
    nothing = [ledger(SOURCE, OLD), reversal("R1", 0), ledger(SOURCE, OLD)]
    judge, found = judged(LENIENT, nothing)
    # (Asking for 0 points is judged on its own, REV-ARITH-BOUND, not from the ledger.)
    assert judge.pairs_judged == 1
    assert not [rid for rid in requirements(found) if "-STATE-" in rid]


def test_filtered_or_partial_ledger_reads_are_not_paired() -> None:
    filtered = [
        ledger(SOURCE, OLD, extra={"tillId": "11"}),
        reversal("R1", 5),
        ledger(SOURCE, OLD, extra={"tillId": "11"}),
    ]
    dated = [
        ledger(SOURCE, OLD, extra={"isFilterBasedOnDate": "true"}),
        reversal("R1", 5),
        ledger(SOURCE, OLD, extra={"isFilterBasedOnDate": "true"}),
    ]
    second = ledger(SOURCE, OLD, extra={"offset": "1"})
    partial = [ledger(SOURCE, OLD), reversal("R1", 5), second]
    for exchanges in (filtered, dated, partial):
        judge, found = judged(LENIENT, exchanges)
        # The lone second page is judged on its own (its index), never as a ledger read.
        assert judge.pairs_judged == 0
        assert not [rid for rid in requirements(found) if "-STATE-" in rid]


def test_the_ledger_pairs_stay_bounded() -> None:
    pairs = LedgerPairs()
    for n in range(LEDGER_MAX_READS * 2):
        pairs.add(ledger((f"91{n:010d}", n), OLD))
    assert len(pairs.reads) <= LEDGER_MAX_READS


def test_a_group_transfer_is_judged_on_its_customer_ledger() -> None:
    # The group's side has no customer ledger read: only the customer's side is compared.
    for shown, wanted in (([event(5, "CREDIT", 10)], []), ([], ["XFER-STATE-LEDGER"])):
        exchanges = [ledger(DESTINATION, []), group_transfer(10), ledger(DESTINATION, shown)]
        judge, found = judged(LENIENT, exchanges)
        assert judge.pairs_judged == 1
        assert requirements(found) == wanted
