"""The report's inline CSS and JavaScript (no CDN, no fonts, no network: one file, offline).

The script reads the rows from the page's `<script type="application/json">` block and
builds the matches table with DOM calls and `textContent` only (never innerHTML), so rule
text and event values stay text. It sorts (click a column head; again for descending),
filters (a text box over every cell, applied when typing pauses; a level menu, a rule menu) and pages (SHOW rows, then
"show more"); a click on a row opens the match line in full.
"""

CSS = """
:root { --fg:#1d2330; --mute:#5b6475; --line:#d8dde6; --bg:#f6f7f9; --card:#fff;
  --critical:#7b1fa2; --high:#d32f2f; --medium:#f57c00; --low:#1976d2;
  --informational:#607d8b; --none:#9e9e9e; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color:var(--fg); background:var(--bg); }
header { padding:16px 24px; background:#1d2330; color:#fff; }
header h1 { margin:0 0 4px; font-size:20px; }
header p { margin:0; color:#c5cbd6; }
main { padding:16px 24px; display:grid; gap:16px; grid-template-columns:repeat(3, minmax(0,1fr)); }
section { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:12px 16px;
  min-width:0; }
section.wide { grid-column:1 / -1; }
h2 { font-size:15px; margin:0 0 8px; }
.note, .empty { color:var(--mute); font-size:12px; }
.problems { color:#b71c1c; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:3px 6px; border-bottom:1px solid var(--line); vertical-align:top; }
.counts { max-height:320px; overflow:auto; }
.counts td.n { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.bar { height:10px; background:#90a4ae; border-radius:2px; min-width:1px; }
.lv { display:inline-block; padding:0 6px; border-radius:8px; color:#fff; font-size:12px;
  background:var(--none); white-space:nowrap; }
.lv-critical { background:var(--critical); } .lv-high { background:var(--high); }
.lv-medium { background:var(--medium); } .lv-low { background:var(--low); }
.lv-informational { background:var(--informational); }
svg text { font-size:11px; fill:var(--mute); }
.legend span { margin-right:12px; font-size:12px; }
.legend i { display:inline-block; width:10px; height:10px; margin-right:4px; border-radius:2px; }
.heat { display:flex; gap:6px; overflow-x:auto; align-items:flex-start; }
.heat .col { min-width:130px; }
.heat .col h3 { font-size:12px; margin:0 0 4px; text-transform:capitalize; }
.heat .cell { font-size:12px; padding:2px 6px; margin-bottom:2px; border-radius:3px;
  display:flex; justify-content:space-between; gap:6px; }
#controls { display:flex; gap:8px; flex-wrap:wrap; margin-bottom:8px; align-items:center; }
#controls input { flex:1; min-width:200px; padding:4px 6px; }
#matches th { cursor:pointer; user-select:none; white-space:nowrap; background:#eef1f5;
  position:sticky; top:0; }
#matches th[aria-sort=ascending]::after { content:" ▲"; }
#matches th[aria-sort=descending]::after { content:" ▼"; }
#matches tr.row { cursor:pointer; }
#matches tr.row:hover { background:#f0f4fa; }
#matches td.details { min-width:340px; }
#matches td.details div { white-space:pre-wrap; overflow-wrap:anywhere; font-size:12px; }
#matches td.where { max-width:260px; overflow-wrap:anywhere; font-size:12px; }
#matches td.time { white-space:nowrap; font-size:12px; }
#matches td.details b { font-weight:600; }
#matches tr.open pre { margin:0; white-space:pre-wrap; word-break:break-all; font-size:12px;
  background:#f6f8fa; padding:8px; }
.tablewrap { max-height:70vh; overflow:auto; }
"""

JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("sigcc-data").textContent);
  var rows = data.rows, LEVEL_RANK = data.level_rank, SHOW = 200;
  var state = { key: "time", dir: 1, text: "", level: "", rule: "", shown: SHOW };
  var COLS = [["time", "Time"], ["level", "Level"], ["title", "Rule"], ["computer", "Computer"],
              ["channel", "Channel"], ["event_id", "Event ID"], ["tactics", "Tactics"],
              ["details", "Details"], ["where", "File:record"]];
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function haystack(r) {
    if (r._h === undefined) {
      var parts = [r.time, r.level, r.title, r.rule_id, r.computer, r.channel, r.event_id,
                   r.tactics.join(" "), r.techniques.join(" "), r.where];
      r.details.forEach(function (d) { parts.push(d[0] + ": " + d[1]); });
      r._h = parts.join("\n").toLowerCase();
    }
    return r._h;
  }
  function value(r, key) {
    if (key === "time") return r.t === null ? Infinity : r.t;
    if (key === "level") return LEVEL_RANK[r.level] === undefined ? 99 : LEVEL_RANK[r.level];
    if (key === "event_id") { var n = Number(r.event_id); return isNaN(n) ? String(r.event_id || "") : n; }
    if (key === "tactics") return r.tactics.join(", ");
    if (key === "details") return r.details.map(function (d) { return d[0] + ": " + d[1]; }).join(" ");
    var v = r[key]; return v === null || v === undefined ? "" : String(v).toLowerCase();
  }
  function compare(a, b) {
    var x = value(a, state.key), y = value(b, state.key);
    if (typeof x !== typeof y) { x = String(x); y = String(y); }
    if (x < y) return -state.dir;
    if (x > y) return state.dir;
    return a.n - b.n;
  }
  function selected() {
    var q = state.text.toLowerCase();
    return rows.filter(function (r) {
      return (!state.level || r.level === state.level) && (!state.rule || r.rule_id === state.rule)
        && (!q || haystack(r).indexOf(q) >= 0);
    }).sort(compare);
  }
  function cell(tr, key, r) {
    var td = el("td", key);
    if (key === "level") td.appendChild(el("span", "lv lv-" + r.level, r.level));
    else if (key === "title") { td.appendChild(el("div", null, r.title));
      if (r.kind === "correlation") td.appendChild(el("div", "note", "correlation")); }
    else if (key === "tactics") td.textContent = r.tactics.concat(r.techniques).join(", ");
    else if (key === "details") r.details.forEach(function (d) {
      var div = el("div"); div.appendChild(el("b", null, d[0] + ": ")); div.appendChild(document.createTextNode(d[1]));
      td.appendChild(div); });
    else td.textContent = r[key] === null || r[key] === undefined ? "" : String(r[key]);
    tr.appendChild(td);
  }
  function toggle(tr, r) {
    var next = tr.nextSibling;
    if (next && next.classList.contains("open")) { next.remove(); return; }
    var open = el("tr", "open"), td = el("td");
    td.colSpan = COLS.length;
    td.appendChild(el("pre", null, JSON.stringify(data.lines[r.n], null, 2)));
    open.appendChild(td);
    tr.parentNode.insertBefore(open, tr.nextSibling);
  }
  function render() {
    var list = selected(), body = document.querySelector("#matches tbody");
    body.textContent = "";
    list.slice(0, state.shown).forEach(function (r) {
      var tr = el("tr", "row");
      tr.dataset.n = r.n;
      COLS.forEach(function (c) { cell(tr, c[0], r); });
      tr.addEventListener("click", function () { toggle(tr, r); });
      body.appendChild(tr);
    });
    document.getElementById("count").textContent =
      list.length + " of " + rows.length + " matches" +
      (list.length > state.shown ? " (first " + state.shown + " shown)" : "");
    document.getElementById("more").hidden = list.length <= state.shown;
    document.querySelectorAll("#matches th").forEach(function (th) {
      th.setAttribute("aria-sort", th.dataset.key === state.key ? (state.dir > 0 ? "ascending" : "descending") : "none");
    });
  }
  var head = document.querySelector("#matches thead tr");
  COLS.forEach(function (c) {
    var th = el("th", null, c[1]); th.dataset.key = c[0];
    th.addEventListener("click", function () {
      if (state.key === c[0]) state.dir = -state.dir; else { state.key = c[0]; state.dir = 1; }
      render();
    });
    head.appendChild(th);
  });
  var levelMenu = document.getElementById("level"), ruleMenu = document.getElementById("rule");
  data.levels.forEach(function (lv) { var o = el("option", null, lv); o.value = lv; levelMenu.appendChild(o); });
  data.rules.forEach(function (r) { var o = el("option", null, r[1] + " (" + r[2] + ")"); o.value = r[0]; ruleMenu.appendChild(o); });
  var typing = null;  // filter once typing pauses, not on every key (large reports)
  document.getElementById("q").addEventListener("input", function (e) {
    clearTimeout(typing);
    typing = setTimeout(function () { state.text = e.target.value; state.shown = SHOW; render(); },
                        rows.length > 2000 ? 200 : 0);
  });
  levelMenu.addEventListener("change", function (e) { state.level = e.target.value; state.shown = SHOW; render(); });
  ruleMenu.addEventListener("change", function (e) { state.rule = e.target.value; state.shown = SHOW; render(); });
  document.getElementById("more").addEventListener("click", function () { state.shown += SHOW * 5; render(); });
  render();
  document.body.dataset.ready = "1";
})();
"""
