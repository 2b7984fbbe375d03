"""Every rule the reference server's routes depend on, in one place.

`Behaviour` holds the documented values (limits, defaults, windows, mappings, error codes) and
`Hooks` the two interception points every route passes through. A fault is a small function that
returns a changed `Behaviour` or installs a hook, so the routes never special-case anything:
they read each rule from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from starlette.requests import Request

# The documented mapping from the pointCategoryType filter to the pointsCategory shown on rows.
DEFAULT_CATEGORY_MAP: Mapping[str, str] = MappingProxyType(
    {
        "REGULAR": "Main",
        "PROMISED": "DelayedAccrualPointCategory",
        "TRIGGER_BASED": "ExternalTriggerBasedPointCategory",
    }
)

LEDGER_ENTRY_TYPES: tuple[str, ...] = ("CREDIT", "DEBIT", "OPENING_BALANCE")
CML_EVENT_NAMES: tuple[str, ...] = ("CROSS_MEMBER_REDEMPTION", "CROSS_MEMBER_REDEMPTION_REVERSAL")

# Union of the source values the four pages list; matched case-insensitively.
SOURCES: frozenset[str] = frozenset(
    {
        "FACEBOOK",
        "WEB_ENGAGE",
        "INSTORE",
        "MARTJACK",
        "TMALL",
        "TAOBAO",
        "JD",
        "ECOMMERCE",
        "WEBSITE",
        "LINE",
        "ALL",
        "WECHAT",
        "MOBILE_APP",
    }
)


@dataclass(frozen=True)
class Behaviour:
    """The documented rules. Defaults are the strict reading of the pages."""

    # getCustomerLedgerInfo (v2 and v2.1)
    ledger_default_limit: int = 10
    ledger_max_limit: int = 100
    ledger_min_limit: int = 1
    ledger_offset_base: int = 0  # offset is a page number; the first page is this value
    ledger_page_number_echoes_offset: bool = True
    ledger_page_size_is_limit: bool = True  # pageSize is the effective limit, not the row count
    ledger_window_days: int = 90  # max distance between startDate and endDate
    ledger_one_date_days: int = 90  # window derived from a single date
    ledger_one_year_days: int = 365  # same, with includeLastOneYearData=true
    ledger_date_format: str = "%Y-%m-%dT%H:%M:%S"
    ledger_default_sort: str = "DESC"
    ledger_sort_values: tuple[str, ...] = ("ASC", "DESC")
    ledger_sort_aliases: tuple[str, ...] = ("sort", "sortOrder")
    ledger_past_last_page_is_error: bool = True  # offset > pageCount: 11003, not an empty 200
    # offset == pageCount, one past the last 0-based page: 001 states 11003 only for "greater
    # than the total number of pages", so an empty 200 is the other reading (D-030).
    ledger_at_page_count_is_error: bool = True
    ledger_empty_is_error: bool = True  # 11003 for a result with no entries at all
    ledger_till_concept_needs_program: bool = True
    ledger_is_filter_based_on_date_default: bool = True
    ledger_customer_details_on_customer_entries: bool = False  # null unless a user group
    # a category filter on a ledger with no points summary of that category answers 9003
    ledger_category_needs_summary: bool = True
    # pointCategoryType=PROMISED also lets trigger-based rows through (000/003 call both promised)
    ledger_promised_includes_trigger_based: bool = False
    # 001 "Specify the type of ledger entries to fetch." may name events: False keeps an event's
    # rows that ledgerEntryType, pointCategoryType or programId do not select (D-067).
    ledger_filters_drop_rows: bool = True
    # programId also selects an event whose sourceProgramId it names, with its rows (D-068)
    ledger_program_matches_source: bool = False
    # False: with a row filter, totalEntries and pageCount count the unfiltered ledger; the
    # pages hold the filtered events, so the last ones are empty (D-070).
    ledger_total_counts_filtered: bool = True
    # True: with a row filter, a page is cut from the unfiltered ledger and its events that do
    # not match are then dropped, so a page may be short or empty while a later one matches
    # (D-070: totals and pages under a row filter are open).
    ledger_filters_after_paging: bool = False
    ledger_identifier_names: tuple[str, ...] = (
        "id",
        "mobile",
        "email",
        "externalId",
        "cardnumber",
        "cardExternalId",
    )
    ledger_group_identifier_names: tuple[str, ...] = (
        "groupId",
        "id",
        "externalId",
        "primaryUserId",
    )
    ledger_group_types: tuple[str, ...] = ("USERGROUP2", "FLEET")
    ledger_entry_types: tuple[str, ...] = LEDGER_ENTRY_TYPES
    category_map: Mapping[str, str] = field(default_factory=lambda: DEFAULT_CATEGORY_MAP)
    sources: frozenset[str] = SOURCES
    points_decimals: int = 3
    # getCustomerLedgerInfoConnectedOrgs
    data_scope_values: tuple[str, ...] = ("SELF", "OTHER")
    data_scope_required: bool = True
    # getCrossMemberLedger
    cml_page_base: int = 1
    cml_default_page_size: int = 20
    cml_min_page_size: int = 1
    cml_max_page_size: int = 100
    cml_page_size_echoes_request: bool = True  # else the number of entries on the page
    cml_default_window_days: int = 30
    cml_default_sort: str = "createdDate:desc"
    cml_sort_values: tuple[str, ...] = ("createdDate:desc", "createdDate:asc")
    cml_default_scope: str = "user"
    cml_scopes: tuple[str, ...] = ("user", "group")
    cml_event_names: tuple[str, ...] = CML_EVENT_NAMES
    cml_wrap_in_entity: bool = False
    cml_balance_category: str = "Main"
    # getCustomerLedgerBalance
    balance_default_limit: int = 10
    balance_max_limit: int = 10
    balance_min_limit: int = 1
    balance_offset_base: int = 0
    # transfers
    transfer_customer_id_types: tuple[str, ...] = ("ID", "MOBILE", "EXTERNAL_ID", "EMAIL")
    transfer_group_customer_id_types: tuple[str, ...] = (
        "mobile",
        "email",
        "externalId",
        "cardnumber",
        "wechat",
        "martjackId",
        "fbId",
        "id",
    )
    transfer_group_id_types: tuple[str, ...] = (
        "id",
        "externalId",
        "primaryUserId",
        "primaryUserCardnumber",
        "primaryUserMobile",
        "primaryUserEmail",
    )
    transfer_entity_types: tuple[str, ...] = ("CUSTOMER", "USERGROUP2")
    transfer_category: str = "Main"
    transfer_requires_otp: bool = True
    # getPointsTransfers: source is required for a customer (003 `**`: "Required for customer
    # entity"); a group's history needs none
    history_customer_requires_source: bool = True
    otp_ttl_seconds: int = 600
    otp_single_use: bool = True
    # Seconds between reading the source's balance and moving the points, in two transactions;
    # 0: both in one write transaction, so concurrent transfers cannot overdraw.
    transfer_check_apart: float = 0.0
    otp_header: str = "X-Sandbox-OTP"
    otp_length: int = 6
    # 003: "toCustomer validation will be fixed in the next release"; False lets a customer
    # transfer to itself, which moves nothing (D-085).
    refuse_same_customer: bool = True
    # 003: "the history of points transferred from a group or customer"; True adds those to it.
    history_lists_incoming: bool = False
    # reverse
    reverse_identifier_types: tuple[str, ...] = ("mobile", "email", "externalId")
    reverse_whole_remainder_by_default: bool = True
    # HTTP statuses
    error_status: int = 400
    # The Content-Type of a refusal's JSON body; None sends none. No page states one (D-096).
    error_media_type: str | None = "application/json"
    auth_status: int = 401
    not_found_status: int = 404
    method_status: int = 405
    internal_status: int = 500
    # error codes: ledger pages (000, 001)
    err_identifier_name: int = 8013
    err_identifier_value: int = 8015
    err_source: int = 8003
    err_unknown_customer: int = 8015
    err_unknown_user_id: int = 11012
    err_limit: int = 11029
    err_no_entries: int = 11003
    err_entry_type: int = 11007
    err_category: int = 11008
    err_multiple_till_filters: int = 11028
    err_invalid_till_ids: int = 11027
    err_till_format: int = 11025
    err_no_tills: int = 11026
    err_no_points_summary: int = 9003
    err_connected_orgs: int = 310144
    # no code is documented for these; a generic validation code
    err_validation: int = 400
    # error codes: crossMemberLedger (002)
    err_cml_date_format: int = 1001
    err_cml_date_order: int = 1002
    err_cml_page: int = 1003
    err_cml_enum: int = 1004
    err_cml_not_in_group: int = 3301
    err_cml_other_org: int = 3401
    # error codes: points (003)
    err_points_invalid: int = 801
    err_identifier_invalid: int = 802
    err_insufficient_points: int = 804
    err_otp: int = 808
    err_customer_not_found: int = 816
    err_same_customer: int = 418
    err_source_fraud: int = 415
    err_destination_fraud: int = 414
    err_not_enrolled: int = 881
    err_merged_customer: int = 419
    err_reverse_invalid: int = 901
    err_redemption_not_found: int = 902
    err_reverse_identifier: int = 904
    # The code of a reversal whose identifier no customer of the org has (D-110); None: 904.
    err_reverse_unknown_customer: int | None = None
    err_already_reversed: int = 3802
    # 003 also lists 810 "Mismatch in points for revert API call" (D-088).
    err_over_reversal: int = 901
    # authentication, routing, crashes
    err_auth: int = 401
    err_not_found: int = 404
    err_method: int = 405
    err_internal: int = 500

    def with_changes(self, **changes: Any) -> Behaviour:
        """A copy with some rules replaced (what a fault does)."""
        return replace(self, **changes)


# params_hook(operation_id, params) -> params, before a route reads its input. `params` is a dict
# with "query" (list of (name, value) pairs in order), "path" (dict), "headers" (dict, lower-case
# names) and "body" (the parsed JSON value, or the BODY_INVALID marker).
ParamsHook = Callable[[str, dict[str, Any]], dict[str, Any]]
# response_hook(operation_id, request, status, body) -> (status, body), after a route answered;
# a body of NO_BODY is sent as an empty response without a content type.
ResponseHook = Callable[[str, Request, int, Any], tuple[int, Any]]


class _BodyInvalid:
    """Marker for a request body that is not JSON."""

    _instance: _BodyInvalid | None = None

    def __new__(cls) -> _BodyInvalid:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "BODY_INVALID"


BODY_INVALID: Any = _BodyInvalid()


class _NoBody:
    """Marker a response hook returns for an answer with no body at all (not even `null`)."""

    _instance: _NoBody | None = None

    def __new__(cls) -> _NoBody:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


def _same_params(operation_id: str, params: dict[str, Any]) -> dict[str, Any]:
    return params


def _same_response(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
    return status, body


@dataclass(frozen=True)
class Hooks:
    """The two interception points; the defaults change nothing."""

    params_hook: ParamsHook = _same_params
    response_hook: ResponseHook = _same_response

    def then(
        self, params_hook: ParamsHook | None = None, response_hook: ResponseHook | None = None
    ) -> Hooks:
        """Hooks that run these ones first and the given ones after (faults compose this way)."""
        first_params, first_response = self.params_hook, self.response_hook
        new_params = first_params
        new_response = first_response
        if params_hook is not None:
            second_params = params_hook

            def new_params(operation_id: str, params: dict[str, Any]) -> dict[str, Any]:
                return second_params(operation_id, first_params(operation_id, params))

        if response_hook is not None:
            second_response = response_hook

            def new_response(
                operation_id: str, request: Request, status: int, body: Any
            ) -> tuple[int, Any]:
                status, body = first_response(operation_id, request, status, body)
                return second_response(operation_id, request, status, body)

        return Hooks(params_hook=new_params, response_hook=new_response)
