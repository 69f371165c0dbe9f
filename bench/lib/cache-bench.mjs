// The response cache's scenarios (issue 15): (k1) and (k2) are wrk runs against cached routes,
// once every key has been stored (prefill); (k3) is a burst of 100 concurrent requests for one
// key that is not stored yet, with proxy_cache_lock on, counting what reached the origin. The
// counting origin is a small node server in the runner's own process (it only answers k3).
import http from 'node:http';

/**
 * The origin of (k3): answers every GET after `delayMs` (so the burst's requests overlap the
 * fill) with 1 KiB and `Cache-Control: max-age=3600`, and counts requests per path.
 */
export function startCountOrigin(port, delayMs = 300) {
  const counts = new Map();
  const body = Buffer.alloc(1024, 'k');
  const server = http.createServer((req, res) => {
    counts.set(req.url, (counts.get(req.url) ?? 0) + 1);
    req.resume();
    const timer = setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, 'Cache-Control': 'max-age=3600' });
      res.end(body);
    }, delayMs);
    res.on('close', () => clearTimeout(timer));
  });
  server.keepAliveTimeout = 75_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        port,
        count: (path) => counts.get(path) ?? 0,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      }),
    );
  });
}

/** One GET; resolves with { status, bytes, cache } or { error }. Bounded by `timeoutMs`. */
function get(port, path, agent, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode, bytes, cache: res.headers['x-cache-status'] }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end();
  });
}

/**
 * (k1, k2) Every key requested once before measuring, `concurrency` at a time over keep-alive
 * connections, so that the measured run is all hits; then a sample of keys is asked again and
 * their cache status returned (each should say HIT).
 */
export async function prefill(port, paths, concurrency = 16) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const failed = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < paths.length) {
        const path = paths[next++];
        const r = await get(port, path, agent);
        if (r.error || r.status !== 200) failed.push(`${path}: ${r.error ?? r.status}`);
      }
    }),
  );
  const sample = [];
  for (let i = 0; i < 5; i++) sample.push((await get(port, paths[Math.floor((i * paths.length) / 5)], agent)).cache ?? 'no status');
  agent.destroy();
  return { failed, sample };
}

/**
 * (k3) `n` requests for `path`, each on its own connection, all sent at once; resolves with
 * the statuses, the cache statuses seen, and how long the last answer took.
 */
export async function burst(port, path, n = 100) {
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: n }, () => get(port, path, false)));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const tally = (pick) => {
    const m = new Map();
    for (const r of results) m.set(pick(r), (m.get(pick(r)) ?? 0) + 1);
    return [...m].map(([k, v]) => `${k} ${v}`).join(', ');
  };
  return {
    ok: results.filter((r) => r.status === 200 && r.bytes === 1024).length,
    statuses: tally((r) => r.error ?? r.status),
    cache: tally((r) => r.cache ?? 'none'),
    ms,
  };
}

/** (k3) The table: per proxy and round, the origin requests the burst caused. */
export function lockTable(s, rows) {
  const lines = [
    `### (${s.id}) ${s.title}`,
    '',
    '| proxy | round | upstream requests | complete 200s | statuses | cache status header | all answered after |',
    '|---|--:|--:|--:|---|---|--:|',
  ];
  for (const r of rows) {
    if (!r.result) {
      lines.push(`| ${r.proxy} | ${r.round ?? ''} | failed: ${r.failed ?? 'no result'} | | | | |`);
      continue;
    }
    const x = r.result;
    lines.push(`| ${r.proxy} | ${r.round} | ${x.upstream} | ${x.ok} of ${s.n} | ${x.statuses} | ${x.cache} | ${Math.round(x.ms)} ms |`);
  }
  if (s.note) lines.push('', s.note);
  return lines.join('\n');
}
