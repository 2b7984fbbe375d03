"""junit.xml: one test case per requirement, for CI systems that chart JUnit results.

classname is the operation (so CI groups by operation) and name the requirement ID; a failure
carries the one-line reason and, in its text, each finding with its curl repro.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from points_conformance.operations import OPERATIONS
from points_conformance.report.confirmation import LABEL_TEXT
from points_conformance.report.model import FAILED, LABELS, NOT_EXERCISED, SKIPPED, WAIVED

# Characters XML 1.0 forbids; response bodies may contain any of them.
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    return _INVALID_XML.sub("\ufffd", "" if value is None else str(value))


def classname(record: Mapping[str, Any]) -> str:
    ops = list(record.get("operations") or record.get("by_operation") or [])
    if not ops:
        return "unassigned"
    if len(ops) == 1:
        return str(ops[0])
    if set(OPERATIONS) <= set(ops):
        return "all operations"
    return ",".join(str(op) for op in ops)


def _failure_text(record: Mapping[str, Any]) -> str:
    source = record.get("source") or {}
    lines = [f"{record['id']}: {record.get('statement', '')}".rstrip()]
    if record.get("confirmation"):
        lines.append(f"re-check: {LABEL_TEXT.get(record['confirmation'], record['confirmation'])}")
    if source.get("page") or source.get("heading"):
        lines.append(f"source: {source.get('page', '')} § {source.get('heading', '')}")
    lines.append("")
    for finding in record.get("findings", []):
        lines.append(f"[{finding.get('requirement', record['id'])}] {finding.get('message', '')}")
        if finding.get("expected") or finding.get("actual"):
            lines.append(f"  expected: {finding.get('expected', '')}")
            lines.append(f"  actual:   {finding.get('actual', '')}")
        exchange = finding.get("exchange") or {}
        response = exchange.get("response") or {}
        if response:
            lines.append(
                f"  response: {response.get('status', '')} {response.get('content_type', '')}"
            )
        curl = (exchange.get("request") or {}).get("curl")
        if curl:
            lines.append(f"  repro: {curl}")
        recheck = finding.get("recheck") or {}
        if recheck.get("sent"):
            lines.append(
                f"  sent again {recheck['sent']} times, failed the same way "
                f"{recheck.get('reproduced', 0)} times: {', '.join(recheck.get('answers') or [])}"
            )
        if finding.get("test"):
            lines.append(f"  test: {finding['test']}")
        lines.append("")
    return "\n".join(lines)


def render_junit(report: dict[str, Any]) -> str:
    counts = report["counts"]
    records = list(report["requirements"].values())
    time = sum(sum(float(t.get("duration", 0) or 0) for t in r.get("tests", [])) for r in records)
    skipped = counts.get(SKIPPED, 0) + counts.get(NOT_EXERCISED, 0) + counts.get(WAIVED, 0)
    attrs = {
        "tests": str(len(records)),
        "failures": str(counts.get(FAILED, 0)),
        "errors": "0",
        "skipped": str(skipped),
        "time": f"{time:.3f}",
    }
    root = ET.Element("testsuites", {"name": "points-conformance", **attrs})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": f"points-conformance ({xml_text(report.get('stance', ''))})",
            "timestamp": xml_text(report.get("started", "")),
            **attrs,
        },
    )
    properties = ET.SubElement(suite, "properties")
    versions = report.get("versions", {})
    for name, value in (
        ("target", report.get("target", "")),
        ("stance", report.get("stance", "")),
        ("verdict", report.get("verdict", "")),
        ("verdict_reasons", "; ".join(report.get("verdict_reasons") or [])),
        ("let_through", (report.get("confirmation") or {}).get("let_through", 0)),
        ("harness", versions.get("harness", "")),
        ("spec", versions.get("spec", "")),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": xml_text(value)})
    for record in records:
        duration = sum(float(t.get("duration", 0) or 0) for t in record.get("tests", []))
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": xml_text(classname(record)),
                "name": xml_text(record["id"]),
                "time": f"{duration:.3f}",
            },
        )
        status = record["status"]
        if status == FAILED:
            label = record.get("confirmation")
            if label:
                # The label in a property too, where CI systems that read properties show it.
                properties = ET.SubElement(case, "properties")
                ET.SubElement(properties, "property", {"name": "confirmation", "value": label})
            failure = ET.SubElement(
                case,
                "failure",
                {
                    "message": xml_text(record.get("reason", "")),
                    "type": f"nonconformance-{label}" if label else "nonconformance",
                },
            )
            failure.text = xml_text(_failure_text(record))
        elif status in (SKIPPED, NOT_EXERCISED, WAIVED):
            reason = record.get("reason") or LABELS[status]
            if status == NOT_EXERCISED:
                reason = f"{LABELS[status]}: {reason}"
            ET.SubElement(case, "skipped", {"message": xml_text(reason)})
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
