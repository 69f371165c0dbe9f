/**
 * The dashboard's script, run in the browser: it listens to /events (one snapshot a second)
 * and redraws. Plain ES2017 without template literals (it lives in one here). Everything that
 * came from a request (a URI, a route name) is escaped before it reaches innerHTML: the live
 * tail shows what any client sent. Only the rows a person can see are built (the 50 busiest
 * routes that match the filter), so 1,000 routes cost what 50 do.
 */
export const DASHBOARD_SCRIPT = String.raw`
'use strict';
var CLASS_NAMES = ['1xx', '2xx', '3xx', '4xx', '5xx'];
var CLASS_COLORS = ['#8fa3b8', '#3f9d5b', '#4a7fc1', '#d9a13b', '#d0453b'];
var ROUTE_ROWS = 50;
var last = null;
var tail = [];
var TAIL_KEPT = 200;
var busy = {};

function $(id) { return document.getElementById(id); }
function esc(v) {
  return String(v).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; });
}
function num(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return String(Math.round(n * 10) / 10);
}
function ms(v) { return v > 0 ? (v >= 1000 ? (v / 1000).toFixed(2) + ' s' : (v >= 10 ? Math.round(v) : v.toFixed(1)) + ' ms') : '–'; }
function bytes(n) { return n >= 1073741824 ? (n / 1073741824).toFixed(1) + ' GiB' : (n / 1048576).toFixed(0) + ' MiB'; }
function duration(s) {
  if (s < 120) return Math.round(s) + ' s';
  if (s < 7200) return Math.round(s / 60) + ' min';
  if (s < 172800) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' d';
}

function chart(series) {
  var svg = $('chart');
  var W = 900, H = 180, P = 30;
  if (series.length < 2) { svg.innerHTML = '<text x="' + W / 2 + '" y="' + H / 2 + '" text-anchor="middle" class="muted">waiting for data…</text>'; return; }
  var max = 1;
  series.forEach(function (p) { var t = 0; for (var i = 1; i < p.length; i++) t += p[i]; if (t > max) max = t; });
  var nice = Math.pow(10, Math.floor(Math.log10(max)));
  max = Math.ceil(max / nice) * nice;
  var n = series.length, step = (W - P) / Math.max(1, 299);
  var x0 = W - (n - 1) * step;
  var base = series.map(function () { return 0; });
  var out = '';
  for (var c = 0; c < 5; c++) {
    var top = [], bottom = [];
    for (var i = 0; i < n; i++) {
      var x = x0 + i * step;
      var y0 = H - 18 - (base[i] / max) * (H - 28);
      base[i] += series[i][c + 1];
      var y1 = H - 18 - (base[i] / max) * (H - 28);
      top.push(x.toFixed(1) + ',' + y1.toFixed(1));
      bottom.unshift(x.toFixed(1) + ',' + y0.toFixed(1));
    }
    out += '<polygon fill="' + CLASS_COLORS[c] + '" fill-opacity="0.8" points="' + top.concat(bottom).join(' ') + '"/>';
  }
  for (var g = 0; g <= 2; g++) {
    var v = (max * g) / 2, gy = H - 18 - (v / max) * (H - 28);
    out += '<line x1="' + P + '" x2="' + W + '" y1="' + gy + '" y2="' + gy + '" class="grid"/><text x="2" y="' + (gy + 4) + '" class="axis">' + num(v) + '</text>';
  }
  out += '<text x="' + W + '" y="' + (H - 2) + '" text-anchor="end" class="axis">now</text><text x="' + x0 + '" y="' + (H - 2) + '" class="axis">-' + duration(n) + '</text>';
  svg.innerHTML = out;
}

function badge(status) {
  var cls = { available: 'ok', busy: 'warn', failed: 'bad', unhealthy: 'bad', draining: 'warn', drained: 'muted', disabled: 'muted', down: 'muted' }[status] || 'muted';
  return '<span class="badge ' + cls + '">' + esc(status) + '</span>';
}

function upstreams(rows) {
  $('upstream-count').textContent = rows.length ? '(' + rows.length + ')' : '';
  if (!rows.length) { $('upstreams').innerHTML = '<tr><td colspan="10" class="muted">no upstream servers in this config</td></tr>'; return; }
  $('upstreams').innerHTML = rows.map(function (u) {
    var actions = ['draining', 'disabled', 'up'].map(function (s) {
      var label = { draining: 'Drain', disabled: 'Disable', up: 'Enable' }[s];
      var off = (s === 'up' ? u.admin === 'up' : u.admin === s) || busy[u.address] || !u.pools.length;
      return '<button data-action="' + s + '" data-address="' + esc(u.address) + '" data-pool="' + esc(u.pools[0] || '') + '"' + (off ? ' disabled' : '') + '>' + label + '</button>';
    }).join('');
    return '<tr data-upstream="' + esc(u.address) + '"><td class="mono">' + esc(u.address) + '</td><td>' + esc(u.pools.join(', ')) + '</td><td class="state">' + badge(u.status) +
      '</td><td class="n in-flight">' + u.inFlight + '</td><td class="n">' + num(u.rps) + '</td><td class="n">' + ms(u.p50) + '</td><td class="n">' + ms(u.p95) + '</td><td class="n">' + ms(u.p99) +
      '</td><td class="n">' + num(u.responses) + ' / ' + num(u.failures) + '</td><td class="actions">' + actions + '</td></tr>';
  }).join('');
}

function routes(rows) {
  var f = $('route-filter').value.toLowerCase();
  var shown = f ? rows.filter(function (r) { return r.route.toLowerCase().indexOf(f) >= 0; }) : rows;
  $('route-count').textContent = '(' + rows.length + ' with traffic' + (shown.length > ROUTE_ROWS ? ', busiest ' + ROUTE_ROWS + ' of ' + shown.length + ' shown' : '') + ')';
  $('routes').innerHTML = shown.slice(0, ROUTE_ROWS).map(function (r) {
    var total = r.classes.reduce(function (a, b) { return a + b; }, 0) || 1;
    var bar = r.classes.map(function (n, i) { return n ? '<span style="width:' + (100 * n / total).toFixed(1) + '%;background:' + CLASS_COLORS[i] + '" title="' + CLASS_NAMES[i] + ': ' + n + '"></span>' : ''; }).join('');
    return '<tr><td class="mono route">' + esc(r.route) + '</td><td class="n">' + num(r.rps) + '</td><td class="n">' + num(r.total) + '</td><td><div class="mix">' + bar + '</div></td><td class="n">' +
      ms(r.p50) + '</td><td class="n">' + ms(r.p95) + '</td><td class="n">' + ms(r.p99) + '</td></tr>';
  }).join('') || '<tr><td colspan="7" class="muted">no requests yet</td></tr>';
}

function certificates(list, now) {
  $('cert-section').hidden = list.length === 0;
  $('certs').innerHTML = list.map(function (c) {
    var days = Math.floor((c.notAfter - now) / 86400000);
    return '<tr><td>' + esc(c.where) + '</td><td class="mono">' + esc(c.names.join(', ')) + '</td><td class="n ' + (days < 7 ? 'bad-text' : days < 21 ? 'warn-text' : '') + '">' + days + ' days</td></tr>';
  }).join('');
}

function drawTail() {
  var status = $('tail-status').value, route = $('tail-route').value.toLowerCase();
  var rows = [];
  for (var i = tail.length - 1; i >= 0 && rows.length < 100; i--) {
    var e = tail[i];
    if (status && String(e.status)[0] !== status) continue;
    if (route && e.route.toLowerCase().indexOf(route) < 0) continue;
    rows.push('<tr><td class="mono">' + new Date(e.time).toLocaleTimeString() + '</td><td class="n s' + String(e.status)[0] + '">' + e.status + '</td><td>' + esc(e.method) + '</td><td class="mono uri">' + esc(e.uri) +
      '</td><td class="n">' + ms(e.ms) + '</td><td class="mono route">' + esc(e.route) + '</td><td class="mono">' + esc(e.upstream) + '</td><td class="mono">' + esc(e.client) + '</td></tr>');
  }
  $('tail').innerHTML = rows.join('') || '<tr><td colspan="8" class="muted">no requests since this page opened</td></tr>';
}

function render(s) {
  last = s;
  var total = s.routes.reduce(function (a, r) { return a + r.total; }, 0);
  $('rps').textContent = num(s.rps);
  $('total').textContent = String(total);
  var conns = 0; for (var k in s.connections) conns += s.connections[k];
  $('connections').textContent = String(conns);
  $('connections-detail').textContent = Object.keys(s.connections).map(function (k) { return k + ' ' + s.connections[k]; }).join(' · ');
  $('tunnels').textContent = String(s.tunnels);
  $('in-flight').textContent = String(s.inFlight);
  $('errors').textContent = num(s.errorRate);
  $('rss').textContent = bytes(s.process.rss);
  $('loop').textContent = ms(s.process.eventLoopP99);
  $('uptime').textContent = duration((s.at - s.startedAt) / 1000);
  $('processes').textContent = s.processes + (s.processes === 1 ? ' process' : ' workers');
  let compressed = '';
  for (const coding of Object.keys(s.compression)) {
    const c = s.compression[coding];
    if (c.bytesIn > 0) compressed += ' · ' + coding + ' ' + Math.round((100 * c.bytesOut) / c.bytesIn) + '% of ' + bytes(c.bytesIn);
  }
  $('extras').textContent = 'retries ' + s.retries + ' · denials ' + (s.denials.access + s.denials.limit_req + s.denials.limit_conn + s.denials.basic_auth) + ' · access-log lines dropped ' + s.logDrops + compressed;
  chart(s.series);
  upstreams(s.upstreams);
  routes(s.routes);
  certificates(s.certificates, s.at);
  if (s.tail.length) { tail = tail.concat(s.tail); if (tail.length > TAIL_KEPT) tail = tail.slice(tail.length - TAIL_KEPT); }
  drawTail();
}

function connect() {
  var es = new EventSource('events');
  es.addEventListener('snapshot', function (ev) {
    $('live').className = 'live on';
    $('live').textContent = 'live';
    render(JSON.parse(ev.data));
  });
  es.onerror = function () { $('live').className = 'live off'; $('live').textContent = 'reconnecting…'; };
}

document.addEventListener('click', function (ev) {
  var b = ev.target.closest && ev.target.closest('button[data-action]');
  if (!b) return;
  var address = b.getAttribute('data-address'), pool = b.getAttribute('data-pool'), state = b.getAttribute('data-action');
  busy[address] = true;
  b.disabled = true;
  fetch('upstreams/' + encodeURIComponent(pool) + '/servers/' + encodeURIComponent(address), {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ state: state })
  }).then(function (r) { return r.json().then(function (body) { if (!r.ok) throw new Error(body.error || r.status); }); })
    .catch(function (err) { $('message').textContent = 'Could not change ' + address + ': ' + err.message; })
    .then(function () { delete busy[address]; });
});
['route-filter'].forEach(function (id) { $(id).addEventListener('input', function () { if (last) routes(last.routes); }); });
['tail-status', 'tail-route'].forEach(function (id) { $(id).addEventListener('input', drawTail); });
connect();
`;
