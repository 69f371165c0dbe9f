// Runs h2load (nghttp2-client) and parses its text output: the HTTP/2 scenario (h2).
import { spawn } from 'node:child_process';

const TIME_MS = { us: 0.001, ms: 1, s: 1000 };
const ms = (text) => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  return m ? Number(m[1]) * TIME_MS[m[2]] : NaN;
};

export function parseH2load(out) {
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const fin = /finished in ([\d.]+)s, ([\d.]+) req\/s, ([\d.]+)([KMG]?B)\/s/.exec(out);
  const lat = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out);
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
  return {
    requests: Number(req?.[4] ?? NaN),
    rps: Number(fin?.[2] ?? NaN),
    bytesPerSec: fin ? Number(fin[3]) * unit[fin[4]] : NaN,
    mean: ms(lat?.[3]),
    max: ms(lat?.[2]),
    failed: Number(req?.[5] ?? 0) + Number(req?.[6] ?? 0) + Number(req?.[7] ?? 0),
    non2xx: codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : 0,
    cipher: /Cipher: (\S+)/.exec(out)?.[1],
    protocol: /Application protocol: (\S+)/.exec(out)?.[1],
  };
}

/**
 * Runs h2load for `duration` seconds after `warmup` seconds (its own warm-up phase, not
 * counted); resolves with { code, out, err, parsed, args }. A hard timeout kills it regardless.
 */
export function runH2load({ url, clients, streams, duration, warmup }, onStart) {
  const args = ['-c', String(clients), '-m', String(streams), '-D', String(duration), `--warm-up-time=${warmup}`, url];
  return new Promise((resolve) => {
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    onStart?.(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const limit = setTimeout(() => child.kill('SIGKILL'), (duration + warmup + 30) * 1000);
    const finish = (code) => {
      clearTimeout(limit);
      const parsed = /finished in/.test(out) ? parseH2load(out) : null;
      resolve({ code, out, err, parsed, args });
    };
    child.on('error', (e) => {
      err += e.message;
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
}
