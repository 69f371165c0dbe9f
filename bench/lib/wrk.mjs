// Runs wrk and parses its text output (with --latency).
import { spawn } from 'node:child_process';

const TIME_MS = { us: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000 };
const BYTES = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }; // wrk prints binary units

function ms(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text ?? '');
  return m ? Number(m[1]) * TIME_MS[m[2]] : NaN;
}
function bytes(text) {
  const m = /^([\d.]+)(B|KB|MB|GB|TB)$/.exec(text ?? '');
  return m ? Number(m[1]) * BYTES[m[2]] : NaN;
}

export function parseWrk(out) {
  const pick = (re) => re.exec(out)?.[1];
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock
    ? { connect: +sock[1], read: +sock[2], write: +sock[3], timeout: +sock[4] }
    : { connect: 0, read: 0, write: 0, timeout: 0 };
  return {
    requests: Number(pick(/(\d+) requests in/)),
    seconds: ms(pick(/requests in ([\d.]+\w+),/)) / 1000,
    rps: Number(pick(/Requests\/sec:\s+([\d.]+)/)),
    bytesPerSec: bytes(pick(/Transfer\/sec:\s+([\d.]+\w+)/)),
    p50: ms(pick(/^\s+50%\s+(\S+)/m)),
    p99: ms(pick(/^\s+99%\s+(\S+)/m)),
    errors,
    non2xx: Number(pick(/Non-2xx or 3xx responses: (\d+)/) ?? 0),
  };
}

/**
 * Runs wrk; resolves with { code, out, err } and, when it printed a summary, the parsed result.
 * `onStart(child)` lets the caller stop wrk on Ctrl-C; a hard timeout kills it regardless.
 */
export function runWrk({ url, threads, connections, duration, script, headers = [], timeout = '4s' }, onStart) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', duration, '--timeout', timeout, '--latency'];
  for (const h of headers) args.push('-H', h);
  if (script) args.push('-s', script);
  args.push(url);
  return new Promise((resolve) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    onStart?.(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const limit = setTimeout(() => child.kill('SIGKILL'), (parseFloat(duration) + 30) * 1000);
    const finish = (code) => {
      clearTimeout(limit);
      const parsed = /Requests\/sec:/.test(out) ? parseWrk(out) : null;
      resolve({ code, out, err, parsed, args });
    };
    child.on('error', (e) => {
      err += e.message;
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
}
