/**
 * GET / on the admin listener: the live dashboard, one self-contained page (no CDN, nothing
 * built at run time): HTML, a stylesheet and the script of script.ts, with charts drawn as
 * inline SVG by that script. Its Content-Security-Policy allows that one script (by hash),
 * and connections to this listener only.
 */
import { createHash } from 'node:crypto';
import { DASHBOARD_SCRIPT } from './script.js';

const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --text:#1d2430; --muted:#6b7685; --line:#e3e6ea; --ok:#3f9d5b; --warn:#d9a13b; --bad:#d0453b; }
@media (prefers-color-scheme: dark) { :root { --bg:#14181e; --card:#1c222a; --text:#e3e8ee; --muted:#8d98a6; --line:#2c343e; } }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
header { display:flex; align-items:baseline; gap:16px; padding:12px 20px; border-bottom:1px solid var(--line); background:var(--card); }
header h1 { font-size:18px; margin:0; } header .muted { font-size:13px; }
main { padding:16px 20px; display:grid; gap:16px; max-width:1400px; margin:auto; }
.tiles { display:grid; grid-template-columns:repeat(auto-fill, minmax(150px, 1fr)); gap:12px; }
.tile, section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.tile .v { font-size:24px; font-weight:600; font-variant-numeric:tabular-nums; } .tile .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
section h2 { font-size:15px; margin:0 0 8px; display:flex; gap:8px; align-items:baseline; } section h2 .muted { font-weight:normal; font-size:12px; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--muted); font-weight:500; font-size:12px; } td.n, th.n { text-align:right; }
.mono { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
td.route, td.uri { max-width:420px; overflow:hidden; text-overflow:ellipsis; }
.muted { color:var(--muted); } .bad-text { color:var(--bad); } .warn-text { color:var(--warn); }
.badge { padding:1px 8px; border-radius:10px; font-size:12px; color:#fff; background:var(--muted); }
.badge.ok { background:var(--ok); } .badge.warn { background:var(--warn); } .badge.bad { background:var(--bad); }
.mix { display:flex; width:140px; height:10px; border-radius:3px; overflow:hidden; background:var(--line); }
.s4 { color:var(--warn); } .s5 { color:var(--bad); }
button { font:inherit; font-size:12px; padding:2px 8px; margin-right:4px; border:1px solid var(--line); border-radius:4px; background:var(--bg); color:var(--text); cursor:pointer; }
button:disabled { opacity:.4; cursor:default; }
input, select { font:inherit; padding:3px 6px; border:1px solid var(--line); border-radius:4px; background:var(--bg); color:var(--text); }
svg text { fill:var(--muted); font-size:11px; } svg .grid { stroke:var(--line); }
.legend span { display:inline-block; width:10px; height:10px; border-radius:2px; margin:0 4px 0 10px; vertical-align:middle; }
.live { font-size:12px; padding:1px 8px; border-radius:10px; } .live.on { background:var(--ok); color:#fff; } .live.off { background:var(--bad); color:#fff; }
.scroll { max-height:420px; overflow:auto; }
#message { color:var(--bad); }
`;

const BODY = `
<header><h1>Portico</h1><span id="live" class="live off">connecting…</span><span class="muted">up <span id="uptime">–</span> · <span id="processes">–</span></span><span id="message"></span></header>
<main>
<div class="tiles">
  <div class="tile"><div class="k">requests/s</div><div class="v" id="rps">–</div></div>
  <div class="tile"><div class="k">requests total</div><div class="v" id="total">–</div></div>
  <div class="tile"><div class="k">5xx/s</div><div class="v" id="errors">–</div></div>
  <div class="tile"><div class="k">connections</div><div class="v" id="connections">–</div><div class="muted" id="connections-detail"></div></div>
  <div class="tile"><div class="k">WebSocket tunnels</div><div class="v" id="tunnels">–</div></div>
  <div class="tile"><div class="k">upstream in flight</div><div class="v" id="in-flight">–</div></div>
  <div class="tile"><div class="k">memory (RSS)</div><div class="v" id="rss">–</div></div>
  <div class="tile"><div class="k">event-loop delay p99</div><div class="v" id="loop">–</div></div>
</div>
<section><h2>Requests per second by status <span class="legend muted"><span style="background:#3f9d5b"></span>2xx<span style="background:#4a7fc1"></span>3xx<span style="background:#d9a13b"></span>4xx<span style="background:#d0453b"></span>5xx<span style="background:#8fa3b8"></span>1xx</span></h2>
<svg id="chart" viewBox="0 0 900 180" width="100%" height="180" preserveAspectRatio="none" role="img" aria-label="requests per second over the last five minutes"></svg>
<div class="muted" id="extras"></div></section>
<section><h2>Upstream servers <span class="muted" id="upstream-count"></span><span class="muted">latency: to the response head, last minute</span></h2>
<div class="scroll"><table><thead><tr><th>server</th><th>pools</th><th>state</th><th class="n">in flight</th><th class="n">req/s</th><th class="n">p50</th><th class="n">p95</th><th class="n">p99</th><th class="n">responses / failures</th><th></th></tr></thead><tbody id="upstreams"></tbody></table></div></section>
<section><h2>Routes <span class="muted" id="route-count"></span><input id="route-filter" placeholder="filter routes" aria-label="filter routes"></h2>
<div class="scroll"><table><thead><tr><th>route</th><th class="n">req/s</th><th class="n">total</th><th>status mix</th><th class="n">p50</th><th class="n">p95</th><th class="n">p99</th></tr></thead><tbody id="routes"></tbody></table></div></section>
<section id="cert-section" hidden><h2>Certificates</h2><table><thead><tr><th>server</th><th>names</th><th class="n">expires in</th></tr></thead><tbody id="certs"></tbody></table></section>
<section><h2>Live tail <select id="tail-status" aria-label="status"><option value="">any status</option><option value="2">2xx</option><option value="3">3xx</option><option value="4">4xx</option><option value="5">5xx</option></select><input id="tail-route" placeholder="route contains" aria-label="route"></h2>
<div class="scroll"><table><thead><tr><th>time</th><th class="n">status</th><th>method</th><th>uri</th><th class="n">time</th><th>route</th><th>upstream</th><th>client</th></tr></thead><tbody id="tail"></tbody></table></div></section>
</main>
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portico</title><style>${STYLE}</style></head>
<body>${BODY}<script>${DASHBOARD_SCRIPT}</script></body></html>
`;

/** Only this page's own script runs; it talks only to this listener; no other site may frame it. */
export const DASHBOARD_CSP =
  `default-src 'none'; script-src 'sha256-${createHash('sha256').update(DASHBOARD_SCRIPT).digest('base64')}'; ` +
  `style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
