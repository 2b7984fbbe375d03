"""The short table `python -m bench` prints: one line per figure, grouped by section."""

from __future__ import annotations

from typing import Any


def _num(value: Any, unit: str = "") -> str:
    if isinstance(value, bool) or value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        return str(value)
    return f"{text} {unit}".rstrip()


def _met(flag: Any) -> str:
    return "met" if flag is True else ("NOT met" if flag is False else "")


def _section(value: Any) -> tuple[dict[str, Any], str | None]:
    """The section and nothing, or an empty one and why it has no figures."""
    if not isinstance(value, dict):
        return {}, "not measured"
    if value.get("skipped"):
        return {}, f"skipped ({value.get('reason', '')})"
    if "error" in value:
        return {}, f"could not run: {value['error']}"
    return value, None


def render(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []

    def head(title: str) -> None:
        rows.append((title, "", ""))

    def row(name: str, value: str, note: str = "") -> None:
        rows.append(("  " + name, value, note))

    m = results.get("machine") or {}
    head("machine")
    row("CPUs / model", f"{m.get('nproc')} x {m.get('cpu_model')}")
    row("memory", _num(m.get("memory_gib"), "GiB"))
    row("load average start / end", f"{m.get('load_average_start')} / {m.get('load_average_end')}")

    h, problem = _section(results.get("harness"))
    head("harness: full suite against a plain httpx loop (same requests)")
    if problem:
        row("", problem)
    else:
        suite = h["suite"]
        loop = h["loop"]
        row("suite requests", _num(suite["requests"]), f"pytest exit {suite['exit_status']}")
        row(
            "suite wall / session time",
            f"{_num(suite['wall_s'], 's')} / {_num(suite['session_s'], 's')}",
        )
        row(
            "suite rps (wall / session)",
            f"{_num(suite['rps_wall'])} / {_num(suite['rps_session'])}",
        )
        row("plain loop rps", _num(loop["rps"]), f"{loop['requests']} requests")
        row("ratio (wall)", _num(h["ratio_wall"]))
        row("ratio (session)", _num(h["ratio_session"]))
        row("harness overhead per request", _num(h["harness_overhead_ms_per_request"], "ms"))
        for kind, part in (h.get("by_kind") or {}).items():
            row(
                f"{kind} tests: rps / loop rps",
                f"{_num(part['rps'])} / {_num(part['loop_rps'])}",
                f"ratio {_num(part['ratio'])}; {part['requests']} requests in "
                f"{_num(part['test_time_s'], 's')} of test time; "
                f"{_num(part['harness_ms_per_request'], 'ms')} per request on top of the loop",
            )

    s, problem = _section(results.get("scaling"))
    head("suite wall time: serial against pytest -n 2")
    if problem:
        row("", problem)
    else:
        for key, label in (("serial", "serial"), ("n2", "-n 2")):
            part = s[key]
            row(
                label,
                _num(part["wall_s"], "s"),
                f"pytest exit {part['exit_status']}; CPU: pytest {_num(part['cpu_s'], 's')}, "
                f"server {_num(part['server_cpu_s'], 's')}; {_num(part['cores_busy'])} of "
                f"{s.get('cpus')} cores busy on average",
            )
            for name, proc in (part.get("processes") or {}).items():
                row(
                    f"  {name}",
                    f"{proc['tests']} tests",
                    f"first test at {_num(proc['first_test_at_s'], 's')}, last done at "
                    f"{_num(proc['last_test_done_at_s'], 's')}; in tests "
                    f"{_num(proc['in_tests_s'], 's')}, waiting before setup (locks) "
                    f"{_num(proc['waiting_s'], 's')}",
                )
        row("scaling", _num(s["ratio"], "x"))

    r, problem = _section(results.get("remote"))
    delay = (results.get("remote") or {}).get("delay_ms")
    head(f"suite wall time {delay:g} ms away (a delay proxy on loopback)" if delay else "remote")
    if problem:
        row("", problem)
    else:
        for name, part in r["runs"].items():
            label = "serial" if name == "serial" else f"-n {name.removeprefix('n')}"
            speedup = r["speedup"].get(name)
            note = f"pytest exit {part['exit_status']}; {_num(part['requests'])} requests"
            if part.get("bound_s") is not None:
                note += f"; bound {_num(part['bound_s'], 's')}"
            if speedup is not None:
                note += f"; {_num(speedup, 'x')} serial"
            row(label, _num(part["wall_s"], "s"), note)

    f, problem = _section(results.get("fuzz"))
    head("fuzzing: harness fuzz tests against schemathesis's CLI")
    if problem:
        row("", problem)
    else:
        row("examples per operation", _num(f["examples"]))
        for key, label in (
            ("harness", "harness fuzz tests"),
            ("schemathesis_cli", "schemathesis CLI"),
        ):
            part = f[key]
            row(
                f"{label} rps",
                _num(part["rps"]),
                f"{part['requests']} requests in {_num(part['wall_s'], 's')}, exit {part['exit_status']}",
            )
        row("harness / CLI", _num(f["ratio"]))

    for label, value in (results.get("reference") or {}).items():
        head(f"reference server: getCustomerLedgerInfo, {label} store")
        store, problem = _section(value)
        if problem:
            row("", problem)
            continue
        row(
            "ledger rows / events", f"{_num(store['ledger_rows'])} / {_num(store['ledger_events'])}"
        )
        c = store["customer"]
        row(
            "customer",
            f"{c['role']} ({_num(c['events'])} events, {_num(c['pages'])} pages of {store['page_size']})",
        )
        for kind in ("first_page", "deep_page"):
            part = store[kind]
            name = (
                "first page"
                if kind == "first_page"
                else f"deep page (offset {store['deep_offset']})"
            )
            row(
                f"{name} p50 / p99",
                f"{_num(part['p50_ms'], 'ms')} / {_num(part['p99_ms'], 'ms')}",
                f"{_num(part['sequential_rps'])} rps on one connection, cold {_num(part['cold_ms'], 'ms')}",
            )
            t = store["throughput"][kind]
            row(f"{name} throughput", _num(t["rps"], "rps"), f"{t['threads']} connections")
        row("deep / first p50", _num(store["deep_over_first_p50"]))

    p, problem = _section(results.get("prism"))
    head("reference server against Prism's mock (same requests)")
    if problem:
        row("", problem)
    else:
        row("Prism version", str(p.get("version")))
        used = p.get("requests") or {}
        row("requests", f"{used.get('sent')} sent", f"cycling {used.get('used')} recorded reads")
        for crash in p.get("prism_crashes") or []:
            row("Prism exits on", crash["request"].split("?", 1)[0], crash["error"])
        if used.get("left_out"):
            left = used["left_out"]
            row(
                "left out (both servers)",
                f"{left['requests']} requests",
                ", ".join(left["operations"]),
            )
        for key in ("reference", "prism"):
            part = p[key]
            note = f"p50 {_num(part['p50_ms'], 'ms')}, statuses {part['statuses']}"
            if part.get("errors"):
                note += f", {part['errors']} transport errors"
            if "exited" in part:
                note += f", exited with status {part['exited']} during the run"
            row(f"{key} rps", _num(part["rps"]), f"{p.get('connections')} connections; {note}")
        row("reference / Prism", _num(p["reference_over_prism"]))
        one = p.get("one_connection")
        if isinstance(one, dict):
            row(
                "the same, one connection",
                _num(one["reference_over_prism"]),
                f"{_num(one['reference']['rps'])} vs {_num(one['prism']['rps'])} rps",
            )

    x, problem = _section(results.get("proxy"))
    head("proxy: getCustomerLedgerInfo straight and through `points-conformance proxy`")
    if problem:
        row("", problem)
    else:
        latency = x["latency"]
        for kind, label in (("page", "first page of 10"), ("refused", "limit=101, refused")):
            direct, proxied = latency[f"direct_{kind}"], latency[f"proxied_{kind}"]
            row(
                f"{label} p50 straight / proxied",
                f"{_num(direct['p50_ms'], 'ms')} / {_num(proxied['p50_ms'], 'ms')}",
                f"+{_num(x['overhead_ms'][kind]['p50_ms'], 'ms')}; p99 "
                f"{_num(direct['p99_ms'], 'ms')} / {_num(proxied['p99_ms'], 'ms')}",
            )
        row(
            "judged by the proxy",
            _num(x["proxy_judged"]),
            f"exit {x['proxy_exit_status']}, failed: {', '.join(x['proxy_failed']) or 'none'}",
        )

    v, problem = _section(results.get("validate"))
    head("validate: a large recording of the suite")
    if problem:
        row("", problem)
    else:
        row(
            "exchanges / file",
            f"{_num(v['exchanges'])} / {_num(v['file_mib'], 'MiB')}",
            f"the suite's {_num(v['seed_exchanges'])} repeated",
        )
        row(
            "exchanges/s",
            _num(v["exchanges_per_s"]),
            f"{_num(v['judged'])} judged in {_num(v['wall_s'], 's')}, exit {v['exit_status']}",
        )
        row("peak memory", _num(v["peak_rss_mib"], "MiB"), "resident, of the validate process")

    head("targets (of the sections that ran)")
    for target in results.get("targets") or ():
        row(
            target["name"],
            _num(target["value"]),
            f"target {target['target']}: {_met(target['met'])}",
        )

    body = [(name, value) for name, value, note in rows if value or note]
    width = max(len(name) for name, _ in body)
    value_width = max(len(value) for _, value in body)
    lines = []
    for name, value, note in rows:
        if not value and not note:
            lines.append(name)
        else:
            lines.append(f"{name:<{width}}  {value:<{value_width}}  {note}".rstrip())
    return "\n".join(lines)
