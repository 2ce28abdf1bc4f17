"""The HTML report's style sheet and script, inline so the page needs no network: the page's
content security policy allows exactly these two, by hash, and nothing else."""

from __future__ import annotations

CSS = """
:root { --approved: #2e7d32; --exempt: #1565c0; --violation: #c62828; --unverified: #d98200;
  --line: #d0d0d0; --muted: #555; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif;
  color: #111; margin: 0 auto; padding: 24px 32px 48px; max-width: 1180px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; padding-top: 8px; border-top: 2px solid #222; }
h3 { font-size: 15px; margin: 20px 0 6px; }
p { margin: 6px 0; max-width: 62em; }
.sub { color: var(--muted); margin: 0 0 12px; }
nav { margin: 12px 0; font-size: 13px; }
nav a { margin-right: 12px; color: #0b57d0; }
.banner { padding: 12px 16px; font-size: 18px; font-weight: 700; color: #fff; border-radius: 4px;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.banner.compliant { background: var(--approved); }
.banner.violations { background: var(--violation); }
.banner.empty { background: #666; }
.banner .incomplete { display: block; font-size: 14px; font-weight: 600; }
.share { font-size: 16px; }
.notice { border-left: 4px solid var(--violation); padding: 4px 12px; margin: 8px 0; }
.big { font-size: 30px; font-weight: 700; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
  vertical-align: top; }
th { background: #f3f3f3; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.sortable th { cursor: pointer; }
table.sortable th[aria-sort=ascending]::after { content: " \\25B2"; }
table.sortable th[aria-sort=descending]::after { content: " \\25BC"; }
.wide { width: 100%; }
.scroll { overflow-x: auto; }
.mono, code, pre { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace;
  font-size: 12px; }
td.mono { word-break: break-all; }
td.evidence { word-break: normal; }
.place, .file { white-space: nowrap; }
.small { font-size: 11px; color: var(--muted); }
pre { background: #f6f6f6; border: 1px solid var(--line); padding: 10px; overflow-x: auto;
  white-space: pre-wrap; }
.k-approved { color: var(--approved); } .k-exempt { color: var(--exempt); }
.k-violation { color: var(--violation); } .k-unverified { color: var(--unverified); }
.none { color: var(--muted); font-style: italic; }
.chart { display: block; margin: 8px 0 16px; max-width: 100%; height: auto; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 10pt; }
  nav, .noprint { display: none; }
  .scroll { overflow: visible; }
  table { font-size: 8.5pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr, .chart, .banner { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  table.sortable th::after { content: none; }
  th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

JS = """
(function () {
  "use strict";
  function key(cell, numeric) {
    var v = cell.getAttribute("data-v");
    if (v === null) { v = cell.textContent; }
    return numeric ? (parseFloat(v) || 0) : v.toLowerCase();
  }
  function sorter(table, th, col) {
    return function () {
      var numeric = th.classList.contains("n");
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      table.querySelectorAll("thead th").forEach(function (o) { o.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
        return (x < y ? -1 : x > y ? 1 : 0) * dir;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    };
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, col) {
      var sort = sorter(table, th, col);
      th.tabIndex = 0;
      th.title = "Sort by this column";
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  });
  document.documentElement.setAttribute("data-js", "ready");
})();
"""
