"""The fixed parts of conformance.html: its Content-Security-Policy, style sheet and script.

The script runs the page's filters (status, operation, search), which read and write the URL
fragment; `html` puts all three inline, since the page must fetch nothing.
"""

from __future__ import annotations

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

CSS = """
:root { --passed:#2e7d32; --failed:#c62828; --waived:#6a3fb5; --skipped:#b26a00; --not_exercised:#8a8a8a;
  --bg:#fff; --fg:#1d1d1f; --muted:#5f6368; --line:#dadce0; --soft:#f6f8fa; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header, main { max-width: 1400px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 16px; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 8px;
  overflow-x: auto; white-space: pre-wrap; word-break: break-all; margin: 4px 0 8px; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 20px; color: var(--muted); margin: 4px 0 8px; }
.meta b { color: var(--fg); font-weight: 600; }
.verdict { display: inline-block; font-weight: 700; padding: 2px 10px; border-radius: 12px;
  color: #fff; background: var(--not_exercised); }
.verdict.v-conforms { background: var(--passed); }
.verdict.v-does-not-conform { background: var(--failed); }
.verdict.v-incomplete { background: var(--skipped); }
.counts { display: flex; flex-wrap: wrap; gap: 8px 24px; margin: 10px 0 6px; }
.count { font-size: 15px; }
.count b { font-size: 20px; margin-right: 4px; }
.bar { display: flex; height: 14px; border-radius: 7px; overflow: hidden; background: var(--line); }
.bar span { display: block; height: 100%; }
.s-passed { --c: var(--passed); } .s-failed { --c: var(--failed); }
.s-skipped { --c: var(--skipped); } .s-not_exercised { --c: var(--not_exercised); }
.s-waived { --c: var(--waived); }
.c-confirmed { --c: #6b1f1f; } .c-intermittent, .c-transient, .c-unchecked { --c: #6b6b6b; }
.bar span, .badge, td.cell { background: var(--c); }
.count.s-passed b, .count.s-failed b, .count.s-skipped b, .count.s-not_exercised b,
.count.s-waived b { color: var(--c); }
.badge { display: inline-block; min-width: 92px; text-align: center; color: #fff; border-radius: 3px;
  padding: 0 6px; font-size: 12px; font-weight: 600; }
.filters { position: sticky; top: 0; background: var(--bg); z-index: 2; padding: 8px 0;
  border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: center; }
.filters label { white-space: nowrap; }
.filters input[type=search] { min-width: 260px; padding: 3px 6px; }
#f-shown { color: var(--muted); }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top; }
thead th { background: var(--soft); }
.matrix { font-size: 12.5px; }
.matrix th.op { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
  font-weight: 500; padding: 6px 2px; }
.matrix td.cell { width: 22px; text-align: center; color: #fff; font-weight: 700; padding: 0; }
.matrix td.na { background: #fff; }
.matrix tbody th { font-weight: 500; white-space: nowrap; }
.matrix tbody tr:hover td, .matrix tbody tr:hover th { outline: 1px solid #999; }
.matrix-wrap { overflow-x: auto; }
details.req { border: 1px solid var(--line); border-radius: 4px; margin: 6px 0; scroll-margin-top: 90px; }
details.req > summary { cursor: pointer; padding: 6px 8px; list-style-position: inside; }
details.req[open] > summary { border-bottom: 1px solid var(--line); background: var(--soft); }
details.req .body { padding: 6px 12px 10px; }
.stmt { color: var(--muted); }
.finding { border-left: 4px solid var(--failed); padding: 4px 10px; margin: 10px 0; background: #fffafa; }
.finding.note { border-left-color: var(--skipped); background: #fffdf7; }
.finding .msg { font-weight: 600; margin: 2px 0 6px; }
.ea th { width: 90px; background: var(--soft); }
.ea td { white-space: pre-wrap; word-break: break-word; }
.small { color: var(--muted); font-size: 12.5px; }
.tests li { margin: 1px 0; }
ul.plain { padding-left: 18px; }
button { font: inherit; padding: 2px 8px; }
"""

JS = r"""
(function () {
  "use strict";
  var doc = document;
  var toArray = function (list) { return Array.prototype.slice.call(list); };
  var boxes = toArray(doc.querySelectorAll('input[name="status"]'));
  var opSelect = doc.getElementById("f-op");
  var search = doc.getElementById("f-q");
  var shown = doc.getElementById("f-shown");
  var items = toArray(doc.querySelectorAll("[data-req]"));
  var opCells = toArray(doc.querySelectorAll("[data-op]"));
  var rows = items.filter(function (el) { return el.tagName === "TR"; });

  function parseHash() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) { return; }
      var i = part.indexOf("=");
      var key = i < 0 ? part : part.slice(0, i);
      var value = i < 0 ? "" : part.slice(i + 1);
      try {
        out[decodeURIComponent(key)] = decodeURIComponent(value.replace(/\+/g, " "));
      } catch (err) { /* a malformed fragment is ignored */ }
    });
    return out;
  }

  function selectedStatuses() {
    return boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
  }

  function apply() {
    var statuses = selectedStatuses();
    var op = opSelect.value;
    var q = search.value.trim().toLowerCase();
    var count = 0;
    items.forEach(function (el) {
      var ok = statuses.indexOf(el.getAttribute("data-status")) >= 0 &&
        (!op || (" " + el.getAttribute("data-ops") + " ").indexOf(" " + op + " ") >= 0) &&
        (!q || el.getAttribute("data-search").indexOf(q) >= 0);
      el.hidden = !ok;
      if (ok && el.tagName === "TR") { count += 1; }
    });
    opCells.forEach(function (el) { el.hidden = !!op && el.getAttribute("data-op") !== op; });
    shown.textContent = count + " of " + rows.length + " requirements shown";
    doc.body.setAttribute("data-shown", String(count));
  }

  function toHash() {
    var parts = [];
    var statuses = selectedStatuses();
    if (statuses.length !== boxes.length) { parts.push("status=" + statuses.join(",")); }
    if (opSelect.value) { parts.push("op=" + encodeURIComponent(opSelect.value)); }
    if (search.value.trim()) { parts.push("q=" + encodeURIComponent(search.value.trim())); }
    return parts.join("&");
  }

  function openRequirement(id) {
    var el = doc.getElementById("req-" + id);
    if (!el || el.tagName !== "DETAILS") { return; }
    el.hidden = false;
    el.open = true;
    el.scrollIntoView();
  }

  function fromHash() {
    var h = parseHash();
    var keys = Object.keys(h);
    if ("status" in h) {
      var wanted = h.status.split(",");
      boxes.forEach(function (b) { b.checked = wanted.indexOf(b.value) >= 0; });
    }
    if ("op" in h) { opSelect.value = h.op; }
    if ("q" in h) { search.value = h.q; }
    apply();
    if (h.open) {
      h.open.split(",").forEach(openRequirement);
    } else if (keys.length === 1 && h[keys[0]] === "" && keys[0].indexOf("req-") === 0) {
      openRequirement(keys[0].slice(4));
    }
  }

  function changed() {
    apply();
    try { history.replaceState(null, "", "#" + toHash()); } catch (err) { /* file: URLs */ }
  }

  boxes.forEach(function (b) { b.addEventListener("change", changed); });
  opSelect.addEventListener("change", changed);
  search.addEventListener("input", changed);
  doc.getElementById("f-reset").addEventListener("click", function () {
    boxes.forEach(function (b) { b.checked = true; });
    opSelect.value = "";
    search.value = "";
    changed();
  });
  doc.getElementById("f-expand").addEventListener("click", function () {
    toArray(doc.querySelectorAll("details.req")).forEach(function (d) {
      if (!d.hidden && d.getAttribute("data-status") === "failed") { d.open = true; }
    });
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
  doc.body.setAttribute("data-ready", "true");
})();
"""
