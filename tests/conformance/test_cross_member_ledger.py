"""getCrossMemberLedger (002): the parameter matrix, both views of one group, pagination walks.

Cases are data (cases/cml_params.yaml, cases/cml_walks.yaml). Row rules (userRole, scope=user
involvement, eventName / transactionRef / date filters, order, arithmetic, statuses) are the
single-exchange checks every successful page goes through; this module adds what needs a second
page to compare with. The first thing read is one scope=group page of up to 100 entries in the
default window (the sample); when it holds the whole window, a case's `compare` holds its
answer to it:

- `same`: the same entries as the sample (sorting and paging parameters change no membership);
- `events`: exactly the sample's entries of the requested eventName values;
- `transaction`: exactly the sample's entries of that transactionRef, a redemption and its
  reversal among them;
- `wider`: a wider date window holds at least the sample's totalEntries, and all its entries;
- `default_size`: without pageSize, pages hold the default (20; lenient: the size reported).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from points_conformance.checks import CheckContext, walk_pages
from points_conformance.checks.cross_member import cml_body, cml_entries, cml_page
from points_conformance.checks.cross_member_query import iso_moment
from points_conformance.checks.discrepancies import D_CML_DEFAULT_SIZE
from points_conformance.checks.readers import as_dict, same_id
from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding
from points_conformance.plugin.fixtures import FindingsRecorder, skip_missing
from points_conformance.target import TargetData

from ._cases import Case, load_cases, load_table
from ._points import CML, cml_path, judge, ok

SAMPLE_SIZE = 100
# A walk stops before it starts when it would need more pages than this.
MAX_PAGES = 60
DEFAULT_PAGE_SIZE = 20
# The offset the page's own example dates use (2026-03-25T11:00:00+05:30).
EXAMPLE_OFFSET = timezone(timedelta(hours=5, minutes=30))


@dataclass(frozen=True)
class Sample:
    """One scope=group page of the default window, and what the cases derive from it."""

    exchange: Exchange | None
    reason: str = ""
    missing: tuple[str, ...] = ()  # the target-file keys whose absence left no sample

    @property
    def entries(self) -> list[dict[str, Any]]:
        return cml_entries(self.exchange) if self.exchange is not None else []

    @property
    def total(self) -> int | None:
        page = cml_page(self.exchange) if self.exchange is not None else None
        return page.total if page is not None else None

    @property
    def complete(self) -> bool:
        return self.total is not None and self.total == len(self.entries)

    def sections(self) -> dict[str, Any]:
        """The `sample` and `dates` placeholder sections; keys without a value are left out."""
        if self.exchange is None:
            return {}
        page = cml_page(self.exchange)
        sample: dict[str, Any] = {}
        if page is not None and page.page_count is not None:
            sample["past_page"] = max(page.page_count, 0) + 1
        reversal = next(
            (e for e in self.entries if e.get("eventName") == "CROSS_MEMBER_REDEMPTION_REVERSAL"),
            None,
        )
        if reversal is not None and reversal.get("transactionRef"):
            sample["reversed_ref"] = reversal["transactionRef"]
        moments = [m for m in (iso_moment(e.get("createdDateISO")) for e in self.entries) if m]
        if not moments:
            return {"sample": sample}
        newest = max(moments).astimezone(UTC).replace(microsecond=0)
        end, day_before = newest + timedelta(seconds=1), newest - timedelta(days=1)
        dates = {
            "end": _utc(end),
            "day_before": _utc(day_before),
            "end_offset": end.astimezone(EXAMPLE_OFFSET).isoformat(timespec="seconds"),
            "day_before_offset": day_before.astimezone(EXAMPLE_OFFSET).isoformat(
                timespec="seconds"
            ),
            "start_200d": _utc(newest - timedelta(days=200)),
        }
        return {"sample": sample, "dates": dates}


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def cml_sample(client: ConformanceClient, target: TargetData) -> Sample:
    member = target.cross_member.get("member_id")
    if not member:
        return Sample(
            None, "target file has no cross_member.member_id", ("cross_member.member_id",)
        )
    ex = client.request(
        CML, "GET", cml_path(str(member)), params={"scope": "group", "pageSize": SAMPLE_SIZE}
    )
    if ex.response.status != 200 or cml_body(ex) is None:
        return Sample(None, f"the scope=group sample page was refused (HTTP {ex.response.status})")
    return Sample(ex)


def _resolve(case: Case, target: TargetData, sample: Sample) -> Case:
    if (case.uses("sample") or case.uses("dates")) and sample.exchange is None:
        if sample.missing:
            skip_missing(*sample.missing, detail=f"case {case.id} needs the sample page")
        pytest.skip(f"case {case.id} needs the sample page: {sample.reason}")
    return case.resolve(target, **sample.sections())


@pytest.mark.parametrize("case", load_cases("cml_params"))
def test_parameter(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    cml_sample: Sample,
) -> None:
    resolved = _resolve(case, target, cml_sample)
    ex = resolved.send(client)
    findings.add(judge(check_context, resolved, ex, target=target))
    mode = resolved.extra.get("compare")
    if mode and ex.response.status == 200:
        findings.add(compare(str(mode), resolved, ex, cml_sample, strict=check_context.strict))


def _key(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, default=str)


def _label(entry: dict[str, Any]) -> str:
    return f"eventLogId {entry.get('eventLogId')} ({entry.get('eventName')})"


def _difference(
    requirement: str, what: str, ex: Exchange, got: list[dict[str, Any]], want: list[dict[str, Any]]
) -> list[Finding]:
    got_keys, want_keys = {_key(e) for e in got}, {_key(e) for e in want}
    missing = [_label(e) for e in want if _key(e) not in got_keys]
    extra = [_label(e) for e in got if _key(e) not in want_keys]
    if not missing and not extra:
        return []
    parts = []
    if missing:
        parts.append(f"missing {len(missing)}: " + "; ".join(missing[:5]))
    if extra:
        parts.append(f"unexpected {len(extra)}: " + "; ".join(extra[:5]))
    return [
        Finding(
            requirement,
            f"the entries differ from {what}",
            expected=f"the {len(want)} entries of {what}",
            actual=" | ".join(parts),
            exchange=ex,
        )
    ]


def compare(mode: str, case: Case, ex: Exchange, sample: Sample, *, strict: bool) -> list[Finding]:
    """Findings of one `compare` mode (module docstring); none when the sample is partial."""
    requirement = case.requirements[0]
    got = cml_entries(ex)
    if mode == "default_size":
        return _default_size(requirement, ex, strict=strict)
    if not sample.complete:
        return []
    if mode == "same":
        return _difference(
            requirement, "the group's default-window entries", ex, got, sample.entries
        )
    if mode == "events":
        names = set(str(case.query().get("eventName", "")).split(","))
        want = [e for e in sample.entries if e.get("eventName") in names]
        return _difference(
            requirement, f"the sample's {'/'.join(sorted(names))} entries", ex, got, want
        )
    if mode == "transaction":
        ref = case.params.get("transactionRef")
        want = [e for e in sample.entries if e.get("transactionRef") == ref]
        found = _difference(
            requirement, f"the sample's entries of transactionRef {ref}", ex, got, want
        )
        kinds = {e.get("eventName") for e in got}
        if (
            not found
            and not {"CROSS_MEMBER_REDEMPTION", "CROSS_MEMBER_REDEMPTION_REVERSAL"} <= kinds
        ):
            found.append(
                Finding(
                    requirement,
                    "transactionRef of a reversed redemption did not return both events",
                    expected="the original CROSS_MEMBER_REDEMPTION and its reversal",
                    actual="eventName " + ", ".join(sorted(str(k) for k in kinds)),
                    exchange=ex,
                )
            )
        return found
    if mode == "wider":
        return _wider(requirement, ex, got, sample)
    raise ValueError(f"case {case.table}:{case.id}: unknown compare mode {mode!r}")


def _wider(
    requirement: str, ex: Exchange, got: list[dict[str, Any]], sample: Sample
) -> list[Finding]:
    page = cml_page(ex)
    total = page.total if page is not None else None
    if total is not None and sample.total is not None and total < sample.total:
        return [
            Finding(
                requirement,
                "a 200-day window holds fewer entries than the default 30-day window",
                expected=f"totalEntries ≥ {sample.total} (the default window's)",
                actual=f"totalEntries {total}",
                exchange=ex,
            )
        ]
    if total is None or total != len(got):
        return []
    got_keys = {_key(e) for e in got}
    missing = [_label(e) for e in sample.entries if _key(e) not in got_keys]
    if not missing:
        return []
    return [
        Finding(
            requirement,
            "entries of the default window are missing from a wider window that contains it",
            expected="every entry of the default 30-day window",
            actual=f"missing {len(missing)}: " + "; ".join(missing[:5]),
            exchange=ex,
        )
    ]


def _default_size(requirement: str, ex: Exchange, *, strict: bool) -> list[Finding]:
    """Strict: 20 entries (fewer only when fewer exist) and pageSize 20. Lenient: any default
    from 1 to 100, as long as the first page holds min(default, totalEntries) entries (D-038)."""
    page = cml_page(ex)
    if page is None or page.total is None or page.items is None:
        return []
    count = len(page.items)
    size = DEFAULT_PAGE_SIZE if strict else page.page_size
    if size is None:
        return []
    problems = []
    if not 1 <= size <= 100:
        problems.append(f"pageDetails.pageSize {size} outside 1..100")
    elif count != min(size, page.total):
        problems.append(f"{count} entries of {page.total}")
    if strict and page.page_size != DEFAULT_PAGE_SIZE:
        problems.append(f"pageDetails.pageSize {page.page_size}")
    if not problems:
        return []
    return [
        Finding(
            requirement,
            "without pageSize the first page does not hold the default number of entries",
            expected=f"min({size}, {page.total}) entries"
            + (f" and pageDetails.pageSize {DEFAULT_PAGE_SIZE}" if strict else ""),
            actual="; ".join(problems),
            exchange=ex,
            discrepancy=D_CML_DEFAULT_SIZE,
        )
    ]


# -- the two views ---------------------------------------------------------------------------

# What the same event must show alike in every view of it.
AGREEING_FIELDS = (
    "eventName",
    "transactingCustomerId",
    "transactionRef",
    "createdDateISO",
    "netPointsOnEvent",
    "status",
    "entryDetails",
)
# D-092: 002 gives scope=user "only entries where the customer was the transacting member or had
# points drawn from their wallet" and the net as the "Signed net change across the group": a
# user view's rows may be the caller's only and its net the caller's share. Only --strict holds
# them to the group view's; the default run asks that each row shown is one of the group's.
USER_SHARE_FIELDS = ("netPointsOnEvent", "entryDetails")


def _members(target: TargetData) -> list[str]:
    listed = target.cross_member.get("member_ids") or []
    first = target.cross_member.get("member_id")
    members = [str(m) for m in listed if m]
    if first and str(first) not in members:
        members.insert(0, str(first))
    return members


@pytest.mark.requirement("CML-SCOPE-GROUP", "CML-SCOPE-USER", "CML-PARAM-ID")
def test_user_views_agree_with_group_view(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    cml_sample: Sample,
) -> None:
    """Each member's scope=user entries are the group's entries that involve them, shown alike.

    Every member (cross_member.member_ids, else member_id) also resolves to the same group.
    """
    members = _members(target)
    if not members:
        skip_missing("cross_member.member_id")
    if cml_sample.exchange is None:
        if cml_sample.missing:
            skip_missing(*cml_sample.missing)
        pytest.skip(cml_sample.reason)
    group_view = cml_sample.entries
    by_id: dict[str, list[dict[str, Any]]] = {}
    for entry in group_view:
        by_id.setdefault(str(entry.get("eventLogId")), []).append(entry)
    group_id = (as_dict((cml_body(cml_sample.exchange) or {}).get("groupDetails")) or {}).get(
        "groupId"
    )
    for member in members:
        ex = client.request(
            CML, "GET", cml_path(member), params={"scope": "user", "pageSize": SAMPLE_SIZE}
        )
        found = ok(check_context, "CML-SCOPE-USER", f"scope=user view of member {member}", ex)
        findings.add(found)
        if found:
            continue
        body = cml_body(ex) or {}
        shown_group = (as_dict(body.get("groupDetails")) or {}).get("groupId")
        if (
            group_id is not None
            and shown_group is not None
            and not same_id(shown_group, str(group_id))
        ):
            findings.add(
                [
                    Finding(
                        "CML-PARAM-ID",
                        f"member {member} resolves to another group",
                        expected=f"groupDetails.groupId {group_id}, as for member "
                        f"{target.cross_member.get('member_id')}",
                        actual=f"groupDetails.groupId {shown_group}",
                        exchange=ex,
                    )
                ]
            )
        findings.add(
            _agreement(member, ex, by_id, group_view, cml_sample, strict=check_context.strict)
        )


def _agreement(
    member: str,
    ex: Exchange,
    by_id: dict[str, list[dict[str, Any]]],
    group_view: list[dict[str, Any]],
    sample: Sample,
    *,
    strict: bool,
) -> list[Finding]:
    user_view = cml_entries(ex)
    absent: list[str] = []
    differ: list[str] = []
    for entry in user_view:
        twins = [
            e
            for e in by_id.get(str(entry.get("eventLogId")), [])
            if e.get("eventName") == entry.get("eventName")
        ]
        if not twins:
            absent.append(_label(entry))
            continue
        fields = _differing(entry, twins[0], strict=strict)
        if fields:
            differ.append(f"{_label(entry)}: {', '.join(fields)}")
    found: list[Finding] = []
    if differ:
        found.append(
            Finding(
                "CML-SCOPE-USER",
                f"member {member}'s view shows events differently from the group view",
                expected="the same "
                + ", ".join(_compared(strict))
                + " under scope=user and scope=group"
                + ("" if strict else ", and rows the group view shows"),
                actual="; ".join(differ[:5])
                + (f"; … {len(differ) - 5} more" if len(differ) > 5 else ""),
                exchange=ex,
            )
        )
    page = cml_page(ex)
    user_complete = page is not None and page.total == len(user_view)
    if absent and sample.complete:
        found.append(
            Finding(
                "CML-SCOPE-GROUP",
                f"scope=group lacks events of member {member}'s scope=user view",
                expected="the group view holds every event of each member's view",
                actual=f"missing {len(absent)}: " + "; ".join(absent[:5]),
                exchange=sample.exchange,
            )
        )
    if sample.complete and user_complete:
        shown = {(str(e.get("eventLogId")), e.get("eventName")) for e in user_view}
        left_out = [
            _label(e)
            for e in group_view
            if _involves(e, member) and (str(e.get("eventLogId")), e.get("eventName")) not in shown
        ]
        if left_out:
            found.append(
                Finding(
                    "CML-SCOPE-USER",
                    f"member {member}'s view leaves out events they took part in",
                    expected="every group event where the member transacted or had points drawn",
                    actual=f"missing {len(left_out)}: " + "; ".join(left_out[:5]),
                    exchange=ex,
                )
            )
    return found


def _differing(entry: dict[str, Any], twin: dict[str, Any], *, strict: bool) -> list[str]:
    """The fields a user view's entry shows otherwise than the group view's `twin`."""
    fields = [f for f in _compared(strict) if _canon(entry.get(f)) != _canon(twin.get(f))]
    if not strict and not _rows_within(entry, twin):
        fields.append("entryDetails")
    return fields


def _compared(strict: bool) -> tuple[str, ...]:
    return (
        AGREEING_FIELDS
        if strict
        else tuple(f for f in AGREEING_FIELDS if f not in USER_SHARE_FIELDS)
    )


def _rows_within(entry: dict[str, Any], twin: dict[str, Any]) -> bool:
    rows, group_rows = entry.get("entryDetails"), twin.get("entryDetails")
    if not isinstance(rows, list) or not isinstance(group_rows, list):
        return _canon(rows) == _canon(group_rows)
    pool = [_canon(r) for r in group_rows]
    return all(_canon(r) in pool for r in rows)


def _involves(entry: dict[str, Any], member: str) -> bool:
    if same_id(entry.get("transactingCustomerId"), member):
        return True
    rows = entry.get("entryDetails")
    return isinstance(rows, list) and any(
        isinstance(r, dict) and same_id(r.get("customerId"), member) for r in rows
    )


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# -- walks ------------------------------------------------------------------------------------


def _walks() -> list[Any]:
    return [
        pytest.param(
            case, size, id=f"{case.id}-{size}", marks=pytest.mark.requirement(*case.requirements)
        )
        for case in load_table("cml_walks")
        for size in case.extra.get("sizes") or [20]
    ]


def _page(case: Case, size: int, number: int) -> Case:
    return dataclasses.replace(case, params={**case.params, "pageSize": size, "pageNumber": number})


@pytest.mark.parametrize(("case", "size"), _walks())
def test_walk(
    case: Case,
    size: int,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    cml_sample: Sample,
) -> None:
    """Pages 1 .. pageCount of one query, then the page past the last (a 200 with no entries)."""
    resolved = _resolve(case, target, cml_sample)
    first_case = _page(resolved, size, 1)
    first = first_case.send(client)
    found = judge(check_context, first_case, first)
    findings.add(found)
    page = cml_page(first)
    if found or page is None or page.page_count is None:
        if not found:
            findings.add(
                [
                    Finding(
                        case.requirements[0],
                        "the first page has no readable pageDetails.pageCount to walk by",
                        expected="pageDetails.pageCount, an integer",
                        actual=first.response.excerpt(300),
                        exchange=first,
                    )
                ]
            )
        return
    if page.page_count > MAX_PAGES:
        pytest.skip(
            f"pageCount {page.page_count} in pages of {size} exceeds the cap of {MAX_PAGES}"
        )
    pages = [first]
    for number in range(2, page.page_count + 1):
        page_case = _page(resolved, size, number)
        ex = page_case.send(client)
        findings.add(judge(check_context, page_case, ex))
        pages.append(ex)
    findings.add(walk_pages(check_context, pages, operation=CML))
    # 002 states no outcome for a page past the last (1003 covers pageNumber < 1): an empty 200
    # or a refusal in the default run, the empty 200 under --conformance-strict (D-090).
    past_case = dataclasses.replace(
        _page(resolved, size, max(page.page_count, 1) + 1),
        expect={"ok": True, "rows": "none", "lenient": {"ok_or_error": [], "rows": "none"}},
    )
    findings.add(judge(check_context, past_case, past_case.send(client)))
