#!/usr/bin/env node
// WebSocket load client: N connections, each sends a small masked text message, waits for the
// echo, checks it, repeats, for a given time. Prints messages/s, round-trip p50/p99 and errors.
//   node bench/lib/ws-load.mjs [-c 64] [-d 5] [--size 64] [--timeout 4] [--json] ws://127.0.0.1:PORT/ws/echo
// As a module: runWsLoad(opts, onStart) runs it as a child process (like wrk) and parses --json.
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const self = fileURLToPath(import.meta.url);
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Runs the client in its own process; resolves { code, out, err, parsed, args }. */
export function runWsLoad({ url, connections = 64, duration = 5, size = 64, timeout = 4 }, onStart) {
  const args = ['-c', String(connections), '-d', String(duration), '--size', String(size), '--timeout', String(timeout), url];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [self, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    onStart?.(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const limit = setTimeout(() => child.kill('SIGKILL'), (duration + timeout + 30) * 1000);
    const finish = (code) => {
      clearTimeout(limit);
      let parsed = null;
      try {
        parsed = JSON.parse(out.trim().split('\n').at(-1));
      } catch {}
      resolve({ code, out, err, parsed, args });
    };
    child.on('error', (e) => {
      err += e.message;
      finish(null);
    });
    child.on('close', finish);
  });
}

/** A masked text frame carrying `payload` (< 126 bytes) under a random mask. */
function maskedFrame(opcode, payload) {
  const mask = randomBytes(4);
  const f = Buffer.allocUnsafe(6 + payload.length);
  f[0] = 0x80 | opcode;
  f[1] = 0x80 | payload.length;
  mask.copy(f, 2);
  for (let i = 0; i < payload.length; i++) f[6 + i] = payload[i] ^ mask[i & 3];
  return f;
}

async function main(argv) {
  const o = { c: 64, d: 5, size: 64, timeout: 4, json: false, url: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c') o.c = Number(argv[++i]);
    else if (a === '-d') o.d = Number(argv[++i]);
    else if (a === '--size') o.size = Number(argv[++i]);
    else if (a === '--timeout') o.timeout = Number(argv[++i]);
    else if (a === '--json') o.json = true;
    else o.url = a;
  }
  const u = o.url ? new URL(o.url) : null;
  if (!u || !(o.c > 0) || !(o.d > 0) || !(o.size > 0 && o.size < 126)) {
    console.error('usage: node bench/lib/ws-load.mjs [-c 64] [-d 5] [--size 1-125] [--timeout 4] [--json] ws://HOST:PORT/PATH');
    process.exit(2);
  }
  const host = u.hostname;
  const port = Number(u.port || 80);
  const path = u.pathname + u.search;

  // The message: printable text; 256 copies under different random masks, used in turn.
  const payload = Buffer.alloc(o.size, 'portico websocket benchmark message 0123456789abcdefghijklmnopqrstuvwxyz ');
  const frames = Array.from({ length: 256 }, () => maskedFrame(0x1, payload));
  const closeFrame = maskedFrame(0x8, Buffer.from([0x03, 0xe8])); // 1000 normal closure
  const echoLen = 2 + o.size;

  const errors = { connect: 0, handshake: 0, closed: 0, mismatch: 0, timeout: 0 };
  let samples = new Float64Array(1 << 16); // round-trip times, ms
  let nSamples = 0;
  let messages = 0;
  let phase = 'connect'; // connect -> run -> close
  let tStart = 0;
  let tEnd = Infinity;
  const conns = [];

  const record = (ms) => {
    if (nSamples === samples.length) {
      const bigger = new Float64Array(samples.length * 2);
      bigger.set(samples);
      samples = bigger;
    }
    samples[nSamples++] = ms;
  };

  function open(i) {
    return new Promise((resolve) => {
      const key = randomBytes(16).toString('base64');
      const expect = createHash('sha1').update(key + GUID).digest('base64');
      const s = connect({ host, port, noDelay: true });
      const c = { s, sentAt: 0, waiting: false, done: false, ok: false, frame: i & 255, buf: null };
      conns.push(c);
      let head = '';
      let settled = false;
      const settle = (ok) => {
        if (settled) return;
        settled = true;
        c.ok = ok;
        resolve();
      };
      const hsTimer = setTimeout(() => {
        errors.handshake++;
        s.destroy();
        settle(false);
      }, o.timeout * 1000);
      let connected = false;
      s.on('connect', () => {
        connected = true;
        s.write(
          `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          'latin1',
        );
      });
      s.on('error', () => {
        if (!settled) {
          clearTimeout(hsTimer);
          errors[connected ? 'handshake' : 'connect']++;
          settle(false);
        }
      });
      s.on('close', () => {
        clearTimeout(hsTimer);
        if (!settled) {
          errors.handshake++;
          settle(false);
        } else if (c.ok && !c.done && !c.closing) {
          errors.closed++; // the tunnel went away while in use
          c.done = true;
          if (c.waiting) c.waiting = false;
          maybeFinish();
        }
      });
      const onHandshake = (chunk) => {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(hsTimer);
        s.off('data', onHandshake);
        const lines = head.slice(0, end).split('\r\n');
        const accept = lines.find((l) => /^sec-websocket-accept:/i.test(l))?.split(':')[1]?.trim();
        if (!/^HTTP\/1\.1 101\b/.test(lines[0]) || accept !== expect) {
          errors.handshake++;
          s.destroy();
          settle(false);
          return;
        }
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        s.on('data', (d) => onFrames(c, d));
        if (rest.length) onFrames(c, rest);
        settle(true);
      };
      s.on('data', onHandshake);
    });
  }

  function send(c) {
    c.sentAt = performance.now();
    c.waiting = true;
    c.s.write(frames[c.frame]);
    c.frame = (c.frame + 1) & 255;
  }

  function onFrames(c, chunk) {
    let buf = c.buf === null ? chunk : Buffer.concat([c.buf, chunk]);
    c.buf = null;
    while (buf.length >= 2) {
      const opcode = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = buf.readUInt16BE(2);
        hdr = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(buf.readBigUInt64BE(2));
        hdr = 10;
      }
      if (buf.length < hdr + len) break;
      const frameLen = hdr + len;
      if (opcode === 0x08) {
        // The close handshake's answer (or an unexpected close while running).
        if (!c.closing && !c.done) errors.closed++;
        c.done = true;
        c.s.end();
        maybeFinish();
        return;
      }
      if (!c.waiting || opcode !== 0x01 || frameLen !== echoLen || buf.compare(payload, 0, payload.length, hdr, frameLen) !== 0) {
        errors.mismatch++;
      } else {
        const now = performance.now();
        c.waiting = false;
        if (now <= tEnd) {
          messages++;
          record(now - c.sentAt);
        }
        if (phase === 'run' && now < tEnd) send(c);
        else closeConn(c);
      }
      buf = buf.subarray(frameLen);
    }
    if (buf.length) c.buf = buf;
  }

  function closeConn(c) {
    if (c.done || c.closing) return;
    c.closing = true;
    c.s.write(closeFrame);
  }

  let finish;
  const finished = new Promise((r) => (finish = r));
  function maybeFinish() {
    if (phase === 'close' && conns.every((c) => c.done || !c.ok)) finish();
  }

  // Connect everything, then run for the duration.
  await Promise.all(Array.from({ length: o.c }, (_, i) => open(i)));
  const live = conns.filter((c) => c.ok);
  phase = 'run';
  tStart = performance.now();
  tEnd = tStart + o.d * 1000;
  for (const c of live) send(c);
  await new Promise((r) => setTimeout(r, o.d * 1000));
  phase = 'close';
  // Connections still waiting for an echo get `timeout` seconds more (beyond that: a timeout),
  // the others close now with a close frame.
  for (const c of live) if (!c.waiting) closeConn(c);
  const grace = setTimeout(() => {
    for (const c of live) {
      if (c.done) continue;
      if (c.waiting && performance.now() - c.sentAt > o.timeout * 1000) errors.timeout++;
      c.done = true;
      c.s.destroy();
    }
    finish();
  }, o.timeout * 1000);
  maybeFinish();
  await finished;
  clearTimeout(grace);
  for (const c of conns) c.s.destroy();

  const seconds = (Math.min(performance.now(), tEnd) - tStart) / 1000;
  const sorted = samples.subarray(0, nSamples).sort();
  const pct = (p) => (nSamples ? sorted[Math.min(nSamples - 1, Math.floor((p / 100) * nSamples))] : NaN);
  const result = {
    connections: o.c,
    opened: live.length,
    messages,
    seconds,
    rate: messages / seconds,
    p50: pct(50),
    p99: pct(99),
    max: nSamples ? sorted[nSamples - 1] : NaN,
    errors,
    cpuSeconds: ((u) => (u.user + u.system) / 1e6)(process.cpuUsage()), // this client's own CPU
  };
  if (o.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const errs = Object.entries(errors).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    console.log(
      `${live.length}/${o.c} connections, ${messages} messages in ${seconds.toFixed(2)} s: ${result.rate.toFixed(0)} msg/s; ` +
        `round trip p50 ${result.p50.toFixed(3)} ms, p99 ${result.p99.toFixed(3)} ms, max ${result.max.toFixed(3)} ms; errors: ${errs}`,
    );
  }
}

if (process.argv[1] === self) await main(process.argv.slice(2));
