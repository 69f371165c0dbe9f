// Child processes of the benchmark: start, track, stop by PID; free ports; readiness polling;
// CPU time and resident memory read from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import http from 'node:http';

/** Every process started here and not yet seen exiting: pid -> handle. */
const live = new Map();

/**
 * Starts `cmd args` in its own process group (so a Ctrl-C in the terminal reaches only us, and
 * we stop the children in order), stdout/stderr to `logFile`. Returns a handle.
 */
export function start(name, cmd, args, { env, logFile, cwd } = {}) {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { env: env ?? process.env, cwd, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const handle = { name, child, pid: child.pid, logFile, exited: null };
  handle.done = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      handle.exited = { code, signal };
      live.delete(child.pid);
      resolve(handle.exited);
    });
    child.on('error', (err) => {
      handle.exited = { code: null, signal: null, error: err.message };
      live.delete(child.pid);
      resolve(handle.exited);
    });
  });
  if (child.pid) live.set(child.pid, handle);
  return handle;
}

/** Direct children of `pid` (e.g. the nginx worker of a master). */
export function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // Kernels without the children file: scan /proc for the parent pid.
    const out = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const st = statFields(Number(d));
      if (st && Number(st[1]) === pid) out.push(Number(d));
    }
    return out;
  }
}

/** Every process below `pid` (children, their children, ...). */
export function descendantsOf(pid) {
  const out = [];
  for (const child of childrenOf(pid)) out.push(child, ...descendantsOf(child));
  return out;
}

/** Stops one handle: `signal` to its group, then SIGKILL after `graceMs`. Also reaps the group. */
export async function stop(handle, signal = 'SIGTERM', graceMs = 3000) {
  if (!handle || handle.exited) return;
  const kids = childrenOf(handle.pid);
  const send = (sig) => {
    try {
      process.kill(-handle.pid, sig);
    } catch {
      try {
        process.kill(handle.pid, sig);
      } catch {}
    }
  };
  send(signal);
  const timer = new Promise((r) => setTimeout(r, graceMs, 'timeout'));
  if ((await Promise.race([handle.done, timer])) === 'timeout') send('SIGKILL');
  await Promise.race([handle.done, new Promise((r) => setTimeout(r, 1000))]);
  for (const k of kids) {
    try {
      process.kill(k, 'SIGKILL'); // an orphaned worker, if the master died first
    } catch {}
  }
}

/** Stops everything still running, last started first. */
export async function stopAll() {
  const handles = [...live.values()].reverse();
  await Promise.all(handles.map((h) => stop(h, h.stopSignal ?? 'SIGTERM')));
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One GET; resolves with the status code (body drained) or rejects. */
export function get(url, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Polls `url` until it answers 200, the process exits, or `deadlineMs` passes. */
export async function waitReady(handle, url, deadlineMs = 15000) {
  const until = Date.now() + deadlineMs;
  let last = 'no answer';
  while (Date.now() < until) {
    if (handle.exited) throw new Error(`${handle.name} exited (${JSON.stringify(handle.exited)})`);
    try {
      const status = await get(url, 1000);
      if (status === 200) return;
      last = `status ${status}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${handle.name} did not answer 200 on ${url} within ${deadlineMs} ms (last: ${last})`);
}

function statFields(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    return s.slice(s.lastIndexOf(')') + 2).split(' '); // [0] = state (field 3)
  } catch {
    return null;
  }
}

const clkTck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** User + system CPU seconds used so far by `pid` (all its threads). */
export function cpuSeconds(pid) {
  if (Array.isArray(pid)) return pid.reduce((sum, p) => sum + cpuSeconds(p), 0);
  const f = statFields(pid);
  if (!f) return NaN;
  return (Number(f[11]) + Number(f[12])) / clkTck; // utime (14), stime (15)
}

function statusKiB(pid, key) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Resident set of `pid` (or the sum over several) in KiB, now. */
export function rssKiB(pid) {
  if (Array.isArray(pid)) return pid.reduce((sum, p) => sum + rssKiB(p), 0);
  return statusKiB(pid, 'VmRSS');
}

/** Open file descriptors of `pid` (or the sum over several). */
export function fdCount(pid) {
  if (Array.isArray(pid)) return pid.reduce((sum, p) => sum + fdCount(p), 0);
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/**
 * Samples the resident set of `pid` every `everyMs` until `stop()` is called; stop() returns the
 * peak in KiB. The kernel's own peak (VmHWM) is reset first when allowed (clear_refs 5), so it
 * covers just this window and catches spikes between samples.
 */
export function sampleRss(pid, everyMs = 200) {
  if (Array.isArray(pid)) {
    // Several processes (Portico's workers): the sum of their peaks.
    const stops = pid.map((p) => sampleRss(p, everyMs));
    return () => stops.reduce((sum, stop) => sum + stop(), 0);
  }
  let hwmReset = false;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    hwmReset = true;
  } catch {}
  let peak = statusKiB(pid, 'VmRSS') || 0;
  const t = setInterval(() => {
    const v = statusKiB(pid, 'VmRSS');
    if (v > peak) peak = v;
  }, everyMs);
  return () => {
    clearInterval(t);
    const v = statusKiB(pid, 'VmRSS');
    if (v > peak) peak = v;
    if (hwmReset) {
      const hwm = statusKiB(pid, 'VmHWM');
      if (hwm > peak) peak = hwm;
    }
    return peak;
  };
}
