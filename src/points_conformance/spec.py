"""Loads the OpenAPI description once and validates bodies against its schemas.

The file on disk is the default reading: it requires only what a page states, so any OpenAPI
tool given it accepts every example of the pages. Where the strict reading of the register
(specs/discrepancies.yaml) asks more, the subschema carries `x-strict`, a JSON Merge Patch
(RFC 7396) that `reading` applies to produce the strict document. `Spec` builds both documents
once and compiles one validator per (operation, response key, mode) on first use, so validating
a body costs only the validation.

Errors come from `jsonschema` (precise paths and messages). A body is first checked by the
compiled `jsonschema_rs` validator of the same schema: a conforming body, the common case, then
costs microseconds instead of milliseconds.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema_rs
import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from points_conformance.locations import SPEC_FILE
from points_conformance.settings import specs_dir

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Base URIs of the two documents in the registry; `$ref`s inside resolve against them.
_STRICT_URI = "urn:points-conformance:openapi:strict"
_LENIENT_URI = "urn:points-conformance:openapi:lenient"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SpecError(Exception):
    """The specification file is missing or does not parse; the message is one line."""


@dataclass(frozen=True)
class SchemaError:
    """One way a body fails a schema.

    `json_path` locates the value in the body (`$.ledgerEntries[0].points`), `keyword` is the
    failing JSON Schema keyword and `schema_path` where it sits in the schema.
    """

    json_path: str
    keyword: str
    message: str
    schema_path: str
    # The same place as `json_path`, as keys and indexes, and the properties a required,
    # additionalProperties or unevaluatedProperties error names there.
    place: tuple[str | int, ...] = ()
    names: tuple[str, ...] = ()

    @property
    def places(self) -> list[tuple[str | int, ...]]:
        """Where the error is: below `place`, at each property it names, else `place`."""
        return [(*self.place, name) for name in self.names] or [self.place]

    def __str__(self) -> str:
        return f"{self.json_path}: {self.message}"


@dataclass(frozen=True)
class Operation:
    """One operation of the description; `parameters` have their `$ref`s resolved."""

    operation_id: str
    method: str  # upper case
    path: str  # the template, e.g. /v2/customers/{id}/crossMemberLedger
    parameters: list[dict[str, Any]] = field(default_factory=list)
    request_body_schema: dict[str, Any] | None = None
    response_statuses: list[str] = field(default_factory=list)

    def parameter(self, name: str, location: str = "query") -> dict[str, Any] | None:
        for parameter in self.parameters:
            if parameter["name"] == name and parameter["in"] == location:
                return parameter
        return None


def _path_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"^{pattern}/?$")


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _fragment(pointer: str) -> str:
    """A `#/...` JSON pointer made a valid URI fragment (path templates hold `{` and `}`)."""
    return quote(pointer, safe="#/~:@!$&'()*+,;=-._")


def _json_path(path: Iterable[Any]) -> str:
    text = "$"
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(str(part)):
            text += f".{part}"
        else:
            text += "[" + repr(str(part)) + "]"
    return text


STRICT_OVERLAY = "x-strict"


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def reading(node: Any, *, strict: bool) -> Any:
    """A copy of `node` in one stance: every `x-strict` merged in (strict) or dropped (default).

    A schema's own overlay is merged first, then the overlays of what it holds, so an overlay
    may refine a property that carries one of its own.
    """
    if isinstance(node, dict):
        if strict and STRICT_OVERLAY in node:
            node = _merge_patch(
                {k: v for k, v in node.items() if k != STRICT_OVERLAY}, node[STRICT_OVERLAY]
            )
        return {k: reading(v, strict=strict) for k, v in node.items() if k != STRICT_OVERLAY}
    if isinstance(node, list):
        return [reading(item, strict=strict) for item in node]
    return node


def _is_integer(checker: Any, instance: Any) -> bool:
    # Bodies parsed with parse_float=Decimal keep `10.0` as Decimal; JSON Schema calls it an
    # integer, as jsonschema_rs does, so both validators agree on it.
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    return bool(Draft202012Validator.TYPE_CHECKER.is_type(instance, "integer"))


_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


class _Compiled:
    """One schema compiled twice: a fast yes/no check and the validator that explains errors."""

    def __init__(self, full: Any, fast: Any | None) -> None:
        self.full = full
        self.fast = fast

    def errors(self, body: Any) -> list[SchemaError]:
        if self.fast is not None:
            try:
                if self.fast.is_valid(body):
                    return []
            except (ValueError, TypeError, OverflowError):
                pass  # values JSON cannot hold (Decimal, huge ints): the full validator decides
        return _errors(self.full, body)


def _explain(error: ValidationError) -> list[ValidationError]:
    """The errors that say why `error` happened.

    anyOf/oneOf only report that no branch matched. The branch whose errors reach deepest into
    the body is the one the body was meant to follow (the first such branch on a tie), so its
    errors are reported instead.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    _, chosen = max(
        branches.items(),
        key=lambda item: (max(len(e.absolute_path) for e in item[1]), -item[0]),
    )
    return [explained for sub in chosen for explained in _explain(sub)]


def _message(error: ValidationError) -> str:
    if error.validator == "not" and error.validator_value == {} and error.path:
        # `not: {}` (the Absent schema) marks a property that must not appear.
        return f"{error.path[-1]!r} must be absent here, got {error.instance!r}"
    return str(error.message)


_REQUIRED = re.compile(r"^(.+) is a required property$")
_UNEXPECTED = re.compile(r"\((.+) (?:was|were) unexpected\)")


def _named(error: ValidationError) -> tuple[str, ...]:
    """The properties a required / additionalProperties / unevaluatedProperties error names."""
    if error.validator == "required":
        match = _REQUIRED.match(str(error.message))
    elif error.validator in ("additionalProperties", "unevaluatedProperties"):
        match = _UNEXPECTED.search(str(error.message))
    else:
        return ()
    if match is None:
        return ()
    try:
        value = ast.literal_eval(f"({match.group(1)},)")
    except (ValueError, SyntaxError):
        return ()
    return tuple(str(v) for v in value)


def _errors(validator: Any, body: Any) -> list[SchemaError]:
    found = [
        SchemaError(
            json_path=_json_path(shown.absolute_path),
            keyword=str(shown.validator),
            message=_message(shown),
            schema_path="/".join(str(p) for p in shown.absolute_schema_path),
            place=tuple(shown.absolute_path),
            names=_named(shown),
        )
        for error in validator.iter_errors(body)
        for shown in _explain(error)
    ]
    found.sort(key=lambda e: (e.json_path, e.keyword))
    return found


class Spec:
    """The parsed description: operations, schemas in both modes, compiled validators."""

    def __init__(
        self, document: dict[str, Any], source: Path | None = None, *, fast: bool = True
    ) -> None:
        """`fast=False` skips the jsonschema_rs pre-check (every body goes to jsonschema)."""
        self.document = document
        self.source = source
        self.fast = fast
        self._documents = {
            True: reading(document, strict=True),
            False: reading(document, strict=False),
        }
        self._registry: Registry[Any] = Registry().with_resources(
            [
                (_STRICT_URI, Resource.from_contents(self._documents[True], DRAFT202012)),
                (_LENIENT_URI, Resource.from_contents(self._documents[False], DRAFT202012)),
            ]
        )
        self._validators: dict[tuple[str, str, bool], _Compiled] = {}
        self._pointers: dict[tuple[str, str], str] = {}
        self.operations: dict[str, Operation] = {}
        self._matchers: list[tuple[str, re.Pattern[str], Operation]] = []
        self._load_operations()

    # -- operations ---------------------------------------------------------------------------

    def _load_operations(self) -> None:
        paths: dict[str, Any] = self.document.get("paths") or {}
        for template, item in paths.items():
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                raw = item.get(method)
                if not isinstance(raw, dict):
                    continue
                operation_id = raw.get("operationId")
                if not operation_id:
                    continue
                base = f"#/paths/{_pointer_escape(template)}/{method}"
                request_schema = self._request_schema(raw)
                operation = Operation(
                    operation_id=operation_id,
                    method=method.upper(),
                    path=template,
                    parameters=self._parameters([*shared, *raw.get("parameters", [])]),
                    request_body_schema=request_schema,
                    response_statuses=[str(key) for key in raw.get("responses", {})],
                )
                self.operations[operation_id] = operation
                self._matchers.append((method.upper(), _path_regex(template), operation))
                for key, response in raw.get("responses", {}).items():
                    pointer = f"{base}/responses/{_pointer_escape(str(key))}"
                    response = self._deref(response)
                    if "$ref" in raw["responses"][key]:
                        pointer = raw["responses"][key]["$ref"]
                    if _json_schema_of(response) is not None:
                        self._pointers[(operation_id, str(key))] = _fragment(
                            f"{pointer}/content/application~1json/schema"
                        )
                if request_schema is not None:
                    body = raw["requestBody"]
                    pointer = body["$ref"] if "$ref" in body else f"{base}/requestBody"
                    self._pointers[(operation_id, "request")] = _fragment(
                        f"{pointer}/content/application~1json/schema"
                    )
        # Literal templates first, so that a fixed segment wins over a `{param}` segment.
        self._matchers.sort(key=lambda m: m[2].path.count("{"))

    def _parameters(self, raws: list[Any]) -> list[dict[str, Any]]:
        result = []
        for raw in raws:
            parameter = self._deref(raw)
            result.append(
                {
                    "name": parameter["name"],
                    "in": parameter["in"],
                    "required": bool(parameter.get("required", parameter["in"] == "path")),
                    "schema": self._inline(parameter.get("schema", {})),
                    **{
                        k: v
                        for k, v in parameter.items()
                        if k in ("description", "style", "explode", "deprecated", "x-discrepancy")
                    },
                }
            )
        return result

    def _request_schema(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        if "requestBody" not in raw:
            return None
        schema = _json_schema_of(self._deref(raw["requestBody"]))
        return self._inline(schema) if schema is not None else None

    def _deref(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 32:
            node = self._resolve_pointer(node["$ref"])
            seen += 1
        return node

    def _resolve_pointer(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise SpecError(f"{self._name()}: only local $refs are supported, got {ref!r}")
        node: Any = self.document
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(token)] if isinstance(node, list) else node[token]
            except (KeyError, IndexError, ValueError, TypeError):
                raise SpecError(f"{self._name()}: $ref {ref!r} does not resolve") from None
        return node

    def _inline(self, node: Any, depth: int = 0) -> Any:
        """`node` with every `$ref` replaced by its target (siblings kept)."""
        if depth > 64:
            raise SpecError(f"{self._name()}: $refs nest too deep (a cycle?)")
        if isinstance(node, dict):
            if "$ref" in node:
                target = self._inline(self._resolve_pointer(node["$ref"]), depth + 1)
                siblings = {k: self._inline(v, depth + 1) for k, v in node.items() if k != "$ref"}
                if not siblings:
                    return target
                return {"allOf": [target], **siblings}
            return {k: self._inline(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self._inline(item, depth + 1) for item in node]
        return node

    def _name(self) -> str:
        return str(self.source) if self.source else SPEC_FILE

    def operation_for(self, method: str, path: str) -> Operation | None:
        """The operation a concrete request path belongs to (a query string is ignored)."""
        path = path.split("?", 1)[0]
        wanted = method.upper()
        for operation_method, regex, operation in self._matchers:
            if operation_method == wanted and regex.match(path):
                return operation
        return None

    # -- schemas ------------------------------------------------------------------------------

    def schema(self, name: str, *, strict: bool) -> dict[str, Any]:
        """A component schema in one stance (`x-strict` merged in when strict; `$ref`s kept)."""
        schemas = self._documents[strict].get("components", {}).get("schemas", {})
        if name not in schemas:
            raise KeyError(f"no component schema {name!r}")
        result: dict[str, Any] = copy.deepcopy(schemas[name])
        return result

    def response_key(self, operation_id: str, status: int) -> str | None:
        """The documented response that covers `status`: exact code, then `4XX`, then (for any
        2xx: no page states a success status, D-035) the documented 200, then default."""
        operation = self.operations[operation_id]
        keys = {key.upper(): key for key in operation.response_statuses}
        success = ("200",) if 200 <= status < 300 else ()
        for candidate in (str(status), f"{str(status)[0]}XX", *success, "DEFAULT"):
            if candidate in keys:
                return keys[candidate]
        return None

    def _validator(self, operation_id: str, key: str, strict: bool) -> _Compiled | None:
        cache_key = (operation_id, key, strict)
        compiled = self._validators.get(cache_key)
        if compiled is None:
            pointer = self._pointers.get((operation_id, key))
            if pointer is None:
                return None
            base = _STRICT_URI if strict else _LENIENT_URI
            full = _Validator({"$ref": base + pointer}, registry=self._registry)
            compiled = _Compiled(full, self._fast_validator(pointer, strict))
            self._validators[cache_key] = compiled
        return compiled

    def _fast_validator(self, pointer: str, strict: bool) -> Any | None:
        if not self.fast:
            return None
        document = self._documents[strict]
        # The document itself is the root, so its local `#/...` references resolve unchanged.
        root = {
            "$ref": pointer,
            **{k: document[k] for k in ("components", "paths") if k in document},
        }
        try:
            return jsonschema_rs.Draft202012Validator(root, offline=True)
        except Exception:  # pragma: no cover - the full validator still works
            return None

    def validate_response(
        self, operation_id: str, status: int, body: Any, *, strict: bool
    ) -> list[SchemaError]:
        """Schema errors of a response body; empty when valid or when no schema covers `status`.

        Raises KeyError for an unknown operation ID.
        """
        if operation_id not in self.operations:
            raise KeyError(f"unknown operationId {operation_id!r}")
        key = self.response_key(operation_id, status)
        compiled = self._validator(operation_id, key, strict) if key is not None else None
        return compiled.errors(body) if compiled is not None else []

    def validate_request_body(
        self, operation_id: str, body: Any, *, strict: bool
    ) -> list[SchemaError]:
        """Schema errors of a request body; empty when valid or when the operation takes none."""
        if operation_id not in self.operations:
            raise KeyError(f"unknown operationId {operation_id!r}")
        compiled = self._validator(operation_id, "request", strict)
        return compiled.errors(body) if compiled is not None else []

    def discrepancy_ids(self) -> set[str]:
        """Every `x-discrepancy` value in the document."""
        return set(_walk_key(self.document, "x-discrepancy"))


def _json_schema_of(container: Any) -> dict[str, Any] | None:
    if not isinstance(container, dict):
        return None
    media = container.get("content", {}).get("application/json")
    if isinstance(media, dict) and isinstance(media.get("schema"), dict):
        schema: dict[str, Any] = media["schema"]
        return schema
    return None


def _walk_key(node: Any, key: str) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield str(v)
            yield from _walk_key(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_key(item, key)


_CACHE: dict[Path, Spec] = {}
# The default description by specs folder: checks ask for it once per exchange, and resolving
# the file's path costs more than validating a body.
_DEFAULT: dict[Path, Spec] = {}
# The C loader parses the description about ten times faster; both are safe loaders.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_spec(path: str | Path | None = None) -> Spec:
    """The description at `path` (default: specs/points-api.openapi.yaml), parsed once per path.

    Raises SpecError with a one-line message when the file is missing or does not parse.
    """
    if path is None:
        folder = specs_dir()
        default = _DEFAULT.get(folder)
        if default is None:
            default = _DEFAULT[folder] = load_spec(folder / SPEC_FILE)
        return default
    file = Path(path)
    key = file.resolve()
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{file}: cannot be read: {exc.strerror or exc}") from None
    try:
        document = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        detail = " ".join(str(problem).split())
        raise SpecError(f"{file}: does not parse{where}: {detail}") from None
    if not isinstance(document, dict) or "paths" not in document:
        raise SpecError(f"{file}: is not an OpenAPI document (no top-level `paths` mapping)")
    spec = Spec(document, source=file)
    _CACHE[key] = spec
    return spec
