// Memory per connection (scenarios m1, m2): open N idle connections through a proxy from several
// holder processes (bench/lib/hold.mjs), measure the proxy's resident memory and open fds
// before, while they are held and after they are closed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { rssKiB, fdCount } from './proc.mjs';

const holdScript = fileURLToPath(new URL('./hold.mjs', import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Holder processes not yet exited, so an interrupted run can kill them. */
const holders = new Set();
export function killHolders() {
  for (const h of holders) h.child.kill('SIGKILL');
}

function startHolder(mode, port, count, path) {
  const child = spawn(process.execPath, [holdScript, mode, String(port), String(count), path], { stdio: ['pipe', 'pipe', 'pipe'] });
  const h = { child, events: [], waiters: [], err: '' };
  holders.add(h);
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let ev;
      try {
        ev = JSON.parse(line);
      } catch {
        continue;
      }
      const w = h.waiters.findIndex((x) => x.event === ev.event);
      if (w >= 0) h.waiters.splice(w, 1)[0].resolve(ev);
      else h.events.push(ev);
    }
  });
  child.stderr.on('data', (d) => (h.err += d));
  child.stdin.on('error', () => {});
  h.exited = new Promise((r) => child.on('close', () => {
    holders.delete(h);
    for (const x of h.waiters) x.resolve(null);
    r();
  }));
  return h;
}

/** The next `event` line of holder `h`, or null on timeout / exit. */
function next(h, event, timeoutMs) {
  const i = h.events.findIndex((e) => e.event === event);
  if (i >= 0) return Promise.resolve(h.events.splice(i, 1)[0]);
  if (!holders.has(h)) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      const j = h.waiters.indexOf(w);
      if (j >= 0) h.waiters.splice(j, 1);
      resolve(null);
    }, timeoutMs);
    const w = {
      event,
      resolve: (ev) => {
        clearTimeout(timer); // else it would keep the runner alive after the last scenario
        resolve(ev);
      },
    };
    h.waiters.push(w);
  });
}

/** RSS sampled every 500 ms until the last `window` samples lie within max(1%, 256 KiB); at most `maxMs`. */
async function stableRss(pid, maxMs = 15000, window = 5) {
  const samples = [];
  const t0 = Date.now();
  for (;;) {
    samples.push(rssKiB(pid));
    const last = samples.slice(-window);
    if (last.length === window) {
      const hi = Math.max(...last);
      const lo = Math.min(...last);
      if (hi - lo <= Math.max(256, hi * 0.01)) return { kib: last.at(-1), stable: true, ms: Date.now() - t0 };
    }
    if (Date.now() - t0 > maxMs) return { kib: samples.at(-1), stable: false, ms: Date.now() - t0 };
    await sleep(500);
  }
}

const addErrors = (into, from) => {
  for (const [k, v] of Object.entries(from ?? {})) into[k] = (into[k] ?? 0) + v;
};

/**
 * Holds `n` connections of `mode` ('http': one GET `path` each, then idle keep-alive; 'ws': a
 * WebSocket handshake on `path`, then an idle tunnel) to 127.0.0.1:`port`, spread over `procs`
 * holder processes; `pid` is the proxy process (or processes) to measure.
 */
export async function measureConnections({ mode, port, path, n, procs, pid, warm = 0, log = () => {} }) {
  // Just started (the caller restarted the proxy), nothing served but the readiness probe: what
  // the proxy costs a server at rest.
  const rest = await stableRss(pid, 5000, 3);
  if (warm > 0) {
    // A first small round, opened and closed, so code paths run once (JIT, lazy setup) are
    // not counted as per-connection memory.
    const h = startHolder(mode, port, warm, path);
    if (await next(h, 'opened', 30_000)) {
      h.child.stdin.write('close\n');
      await next(h, 'closed', 10_000);
    }
    h.child.stdin.end();
    await Promise.race([h.exited, sleep(2000)]);
    h.child.kill('SIGKILL');
    await sleep(500);
  }
  const before = await stableRss(pid, 5000, 3);
  const fdsBefore = fdCount(pid);
  const per = Math.ceil(n / procs);
  const hs = [];
  for (let i = 0, left = n; left > 0; i++, left -= per) hs.push(startHolder(mode, port, Math.min(per, left), path));
  const opened = await Promise.all(hs.map((h) => next(h, 'opened', 90_000)));
  const errors = {};
  let ok = 0;
  let openMs = 0;
  opened.forEach((ev, i) => {
    if (!ev) {
      addErrors(errors, { [`holder ${i} gave no answer${hs[i].err ? ': ' + hs[i].err.trim().split('\n').at(-1) : ''}`]: 1 });
      return;
    }
    ok += ev.ok;
    openMs = Math.max(openMs, ev.ms);
    addErrors(errors, ev.errors);
  });
  log(`${ok}/${n} open after ${(openMs / 1000).toFixed(1)} s; waiting for the proxy's RSS to settle`);
  const after = await stableRss(pid);
  const fdsHeld = fdCount(pid);
  // How many are still open now (a proxy may have closed some while we waited).
  const statuses = await Promise.all(hs.map((h) => (h.child.stdin.write('status\n'), next(h, 'status', 5000))));
  // The status lines carry every error so far (opening ones included) and the connections the
  // proxy closed while they were idle; a holder that did not answer keeps its opening errors.
  let held = 0;
  const finalErrors = {};
  statuses.forEach((st, i) => {
    if (!st) {
      addErrors(finalErrors, opened[i]?.errors);
      addErrors(finalErrors, { [`holder ${i} gave no status`]: 1 });
      return;
    }
    held += st.held;
    addErrors(finalErrors, st.errors);
    if (st.dropped) addErrors(finalErrors, { 'closed by the proxy while idle': st.dropped });
  });
  for (const [k, v] of Object.entries(errors)) if (k.startsWith('holder')) finalErrors[k] = v;

  // Close everything: each holder ends its connections and waits for them to close.
  for (const h of hs) h.child.stdin.write('close\n');
  const closed = await Promise.all(hs.map((h) => next(h, 'closed', 15_000)));
  const left = closed.reduce((a, c) => a + (c ? c.left : 0), 0);
  for (const h of hs) {
    h.child.stdin.end();
    await Promise.race([h.exited, sleep(2000)]);
    h.child.kill('SIGKILL');
  }
  await sleep(2000);
  const fdsAfter = fdCount(pid);
  const rssAfterClose = rssKiB(pid);
  return {
    n,
    ok,
    held,
    rssRest: rest.kib,
    openMs,
    rssBefore: before.kib,
    rssHeld: after.kib,
    rssStable: after.stable,
    rssAfterClose,
    perConnKiB: held > 0 ? (after.kib - before.kib) / held : NaN,
    fdsBefore,
    fdsHeld,
    fdsAfter,
    closeLeft: left,
    errors: finalErrors,
  };
}
