"""The register entries (specs/discrepancies.yaml) that findings depend on.

A finding that only one reading of a contradiction in the pages produces names its entry, so a
report says which reading failed and why.
"""

from __future__ import annotations

D_LEDGER_LIMIT = "D-001"  # v2 limit 11-100: honoured, or capped at 003's 10 (lenient)
D_CML_PAGE_SIZE = "D-012"  # pageDetails.pageSize: requested size, or the count on the page
D_CML_WRAPPED = (
    "D-013"  # crossMemberLedger body: with or without `entity` (lenient), unwrapped (strict)
)
D_GROUP_TYPE = (
    "D-028"  # a group ledger's entityType: USERGROUP2 or FLEET, or the type asked (strict)
)
D_BALANCE_LIMIT = "D-047"  # balance limit above 10: refused, or capped at 10; 11029 (strict)
D_ERROR_STATUS = "D-016"  # strict: HTTP 400 for documented codes, 401 for credentials
D_ECHO_GROUP = "D-022"  # echoed transfer amounts: not compared (lenient) or equal (strict)
D_ECHO_TRANSFER = "D-023"  # pointsTransferred echo: not compared (lenient) or equal (strict)
D_PAST_END = "D-030"  # offset past the last page: 200 with no entries, or 11003 (strict)
D_SCOPE_MISSING = "D-032"  # no DATA-SCOPE: answered as SELF, or 310144 (strict)
D_CML_DEFAULT_SIZE = "D-038"  # crossMemberLedger default pageSize: any, or 20 (strict)
D_DISPLAY_ROUNDING = "D-045"  # a sum may differ from its parts by display rounding
D_SHORT_PAGES = "D-046"  # every page but the last is full; 003's example pages are not
D_ALREADY_REVERSED = "D-050"  # second reversal: 3802 or 812, or 3802 (strict)
D_LEDGER_PAGE_SIZE = "D-057"  # ledger pageSize: the limit, or the count on the page
D_CML_USERROLE = "D-058"  # scope=group: userRole tolerated, or absent (strict)
D_AUTH_BODY = "D-060"  # 401: any body, or the envelope with code 401 (strict)
D_NULL_AS_ABSENT = "D-061"  # "only present" fields: null counts as absent, or the key is gone
D_ALTCUR_ABSENT = "D-063"  # includeAlternateCurrencies absent: not judged, or false (strict)
D_NET_PARTS = "D-064"  # netPointsOnEvent: any of the row sums a page allows, or one (strict)
D_NET_ALT_COMPLETE = "D-065"  # netAlternateCurrenciesOnEvent names every currency (strict)
D_CATEGORY_MAP = "D-066"  # PROMISED: delayed or trigger-based rows, or delayed only (strict)
D_ROW_FILTERING = "D-067"  # row filters: some row of an event matches, or every row (strict)
D_PROGRAM_FIELD = "D-068"  # programId filter: row programId or sourceProgramId, or the row's
D_DATE_ZONE = "D-069"  # date filter: 14 h of zone slack, or the window exactly (strict)
D_TOTAL_WITH_FILTERS = "D-070"  # filtered totalEntries: an upper bound, or exact (strict)
D_EMPTY_PAGE_COUNT = "D-071"  # no entries: pageCount 0 or 1, or 0 (strict)
D_DEFAULT_LIMIT = "D-072"  # v2.1 and group default page size: any, or 10 (strict)
D_DEFAULT_ORDER_LEDGER = "D-073"  # ledger default order: any, or newest first (strict)
D_BALANCE_PAGING = "D-079"  # balance pages: closing balances paged (strict) or repeated per page
D_BALANCE_ARITHMETIC = "D-080"  # closingBalance = the ledger's signed sum: strict only
D_BALANCE_ENTRY_TYPE = "D-081"  # ledgerEntryType on a balance: any answer, or the signed sum
D_BALANCE_END_DATE = "D-082"  # endDate boundary: zone slack (lenient), to the second (strict)
D_ERROR_BODY = "D-084"  # an error body: any (a code anywhere, lenient), or the envelope (strict)
D_CML_USER_SCOPE = "D-092"  # scope=user rows and net: the group's, or the caller's share
D_CML_MEMBERS = "D-093"  # members may list inactive ones: memberCount ≤ len (lenient), = (strict)
D_CML_REVERSALS = "D-094"  # reversal status and sign: example-only (lenient), derived (strict)
D_WARNINGS = "D-095"  # warnings: typed on the ledger pages only; a list everywhere (strict)
D_CONTENT_TYPE = "D-096"  # response media type: not stated; application/json (strict)
D_REVERSE_ID_TYPE = (
    "D-098"  # reverse: an unlisted identifier type may be answered; refused (strict)
)
D_SUCCESS_STATUS = "D-035"  # a success: any 2xx, or HTTP 200 (strict)
