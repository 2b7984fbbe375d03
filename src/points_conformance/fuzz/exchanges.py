"""The suite's view of schemathesis's cases and answers: a case's operation, a call's `Exchange`.

The `Exchange` is what findings carry (hence their curl repro), so the Authorization value in it
is masked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import schemathesis
from schemathesis import Case

from points_conformance.model import Exchange, RequestInfo, ResponseInfo
from points_conformance.redaction import without_credentials


def operation_id_of(case: Case[Any]) -> str:
    """The operationId of the operation a case was generated for ("unknown" without one)."""
    raw = case.operation.definition.raw
    return str(raw.get("operationId") or "unknown") if isinstance(raw, Mapping) else "unknown"


def _body_of(raw: Any) -> Any:
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def exchange_of(case: Case[Any], response: schemathesis.Response) -> Exchange:
    """The suite's view of one schemathesis call: what was sent and what came back."""
    sent = response.request
    request = RequestInfo(
        str(sent.method or case.method),
        str(sent.url),
        without_credentials(sent.headers.items()),
        _body_of(sent.body),
    )
    headers = {key: ", ".join(values) for key, values in response.headers.items()}
    text = response.content.decode(response.encoding or "utf-8", "replace")
    answer = ResponseInfo.from_parts(response.status_code, headers, text, response.elapsed)
    return Exchange(operation_id_of(case), request, answer)
