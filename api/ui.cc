// api/ui.cc — see api_ui.h. The page reads only the JSON endpoints
// documented in docs/api.md, so what it shows is exactly what `ctl list`
// and monitoring see; element ids (primary, members, diagnostics, history,
// proxy, updated) are what tests/integration/ui_test.py reads.
#include "api/ui.h"

namespace pw::node {

namespace {
constexpr std::string_view kPage = R"PWUI(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pgwarden</title>
<style>
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2em 2em; color: #1d2430; background: #f7f8fa; }
  h1 { font-size: 1.4em; margin: 0 0 .2em; }
  h2 { font-size: 1.05em; margin: 1.4em 0 .4em; color: #46505f; }
  .summary { display: flex; gap: 1.6em; flex-wrap: wrap; margin: .6em 0; }
  .summary div { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: .5em .9em; }
  .summary b { display: block; font-size: 1.2em; }
  table { border-collapse: collapse; background: #fff; min-width: 60%; }
  th, td { border: 1px solid #dde1e7; padding: .3em .7em; text-align: left; white-space: nowrap; }
  th { background: #eef1f5; font-weight: 600; }
  td.wrap { white-space: normal; max-width: 40em; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .primary { color: #0b6b2d; font-weight: 600; }
  .bad { color: #a4161a; font-weight: 600; }
  .diag { background: #fff4e5; border-left: 4px solid #e08a00; padding: .5em .8em; margin: .4em 0; }
  .diag code { font-weight: 600; }
  .ok { color: #0b6b2d; }
  #error { color: #a4161a; font-weight: 600; }
  footer { margin-top: 2em; color: #7a8494; font-size: .9em; }
</style>
</head>
<body>
<h1>pgwarden <span id="cluster"></span></h1>
<div id="error"></div>
<div class="summary">
  <div>primary<b id="primary">?</b></div>
  <div>epoch<b id="epoch">?</b></div>
  <div>decider (raft leader)<b id="decider">?</b></div>
  <div>bootstrap<b id="init">?</b></div>
  <div>maintenance<b id="paused">?</b></div>
</div>
<h2>Diagnostics</h2>
<div id="diagnostics"></div>
<h2>Members</h2>
<table id="members"><thead><tr><th>member</th><th>host</th><th>role</th><th>state</th><th>timeline</th><th>LSN</th><th>lag</th><th>activity</th><th>tags</th><th>pending restart</th><th>version</th></tr></thead><tbody></tbody></table>
<h2>Proxy (this node)</h2>
<div id="proxy"></div>
<h2>History of the primary</h2>
<table id="history"><thead><tr><th>epoch</th><th>member</th><th>timeline</th><th>LSN</th><th>time</th><th>reason</th></tr></thead><tbody></tbody></table>
<footer>Served by <span id="self"></span>; refreshed every 2 s — <span id="updated">never</span>. JSON: <a href="/cluster">/cluster</a>, <a href="/history">/history</a>, <a href="/proxy">/proxy</a>, <a href="/metrics">/metrics</a>.</footer>
<script>
"use strict";
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; }
function fmtBytes(n) { if (n === null || n === undefined) return "unknown"; if (n < 1024) return n + " B"; if (n < 1048576) return (n / 1024).toFixed(1) + " KiB"; return (n / 1048576).toFixed(1) + " MiB"; }
function row(cells) { const tr = document.createElement("tr"); for (const c of cells) tr.appendChild(c instanceof Node ? c : el("td", c)); return tr; }
async function get(path) { const r = await fetch(path, {cache: "no-store"}); if (!r.ok && r.status !== 503) throw new Error(path + ": HTTP " + r.status); return r.status === 503 ? null : r.json(); }
function showCluster(c) {
  document.getElementById("cluster").textContent = c.cluster ? "— " + c.cluster : "";
  const p = document.getElementById("primary");
  p.textContent = c.primary || "none"; p.className = c.primary ? "primary" : "bad";
  document.getElementById("epoch").textContent = c.epoch + (c.ready_epoch === c.epoch ? "" : " (promoting)");
  document.getElementById("decider").textContent = c.decider || "none (no quorum?)";
  document.getElementById("init").textContent = c.init ? c.init.state + (c.init.node ? " by " + c.init.node : "") : "?";
  document.getElementById("paused").textContent = c.paused ? "paused" : "off";
  document.getElementById("self").textContent = c.self || "?";
  const d = document.getElementById("diagnostics"); d.replaceChildren();
  const diags = c.diagnostics || [];
  if (!diags.length) d.appendChild(el("div", "none: nothing blocks the cluster", "ok"));
  for (const x of diags) {
    const box = el("div", undefined, "diag");
    box.appendChild(el("code", x.code)); box.appendChild(document.createTextNode(": " + x.message));
    box.appendChild(el("div", "action: " + x.action));
    d.appendChild(box);
  }
  const tb = document.querySelector("#members tbody"); tb.replaceChildren();
  for (const m of c.members || []) {
    const role = el("td", m.role, m.role === "primary" ? "primary" : (m.role === "unknown" || m.role === "demoting" ? "bad" : ""));
    const tags = [];
    if (m.tags && m.tags.nofailover) tags.push("nofailover");
    if (m.tags && m.tags.priority) tags.push("priority " + m.tags.priority);
    tb.appendChild(row([el("td", m.name), m.host, role, el("td", m.state, m.state === "unreachable" ? "bad" : ""),
                        el("td", m.timeline, "num"), m.lsn_text || "", el("td", m.role === "primary" ? "" : fmtBytes(m.lag), "num"),
                        el("td", m.activity + (m.last_error ? " — " + m.last_error : ""), "wrap"), tags.join(", "),
                        el("td", m.pending_restart === null || m.pending_restart === undefined ? "?" :
                                 (m.pending_restart.length ? "yes: " + m.pending_restart.join(", ") : ""),
                           m.pending_restart && m.pending_restart.length ? "bad" : ""),
                        m.version || "?"]));
  }
}
function showHistory(h) {
  const tb = document.querySelector("#history tbody"); tb.replaceChildren();
  for (const e of (h || []).slice(-15).reverse())
    tb.appendChild(row([el("td", e.epoch, "num"), e.node || "(none)", el("td", e.timeline, "num"), e.lsn_text || "", e.time || "", e.reason || ""]));
}
function showProxy(p) {
  const d = document.getElementById("proxy"); d.replaceChildren();
  if (!p) { d.appendChild(el("div", "this process runs no proxy")); return; }
  const t = el("table"); t.appendChild(row([el("th", "listener"), el("th", "sessions now"), el("th", "total"), el("th", "held now"), el("th", "refused"), el("th", "client→server"), el("th", "server→client")]));
  for (const name of ["readwrite", "readonly"]) {
    const l = p[name]; if (!l) continue;
    t.appendChild(row([name, el("td", l.sessions_now, "num"), el("td", l.sessions_total, "num"), el("td", l.held_now, "num"),
                       el("td", l.refused, "num"), el("td", fmtBytes(l.bytes_client_to_server), "num"), el("td", fmtBytes(l.bytes_server_to_client), "num")]));
  }
  d.appendChild(t);
}
async function refresh() {
  try {
    const [c, h, p] = await Promise.all([get("/cluster"), get("/history"), get("/proxy").catch(() => null)]);
    showCluster(c); showHistory(h); showProxy(p);
    document.getElementById("error").textContent = "";
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById("error").textContent = "cannot reach this node's API: " + e.message + " (retrying)";
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)PWUI";
}  // namespace

std::string_view ui_page() { return kPage; }

}  // namespace pw::node
