#!/usr/bin/env node
// Connection holder for the memory scenarios (m1, m2): opens COUNT connections to 127.0.0.1:PORT
// and keeps them open and idle.
//   node bench/lib/hold.mjs http PORT COUNT PATH   each connection: one keep-alive GET PATH, read the whole response
//   node bench/lib/hold.mjs ws   PORT COUNT PATH   each connection: a WebSocket handshake (101) on PATH
// At most CONCURRENCY (env HOLD_CONCURRENCY, default 64) attempts are in flight at once, each
// bounded by 10 s, all of them by HOLD_DEADLINE seconds (default 60). Protocol on stdio, one JSON
// object per line on stdout:
//   -> {"event":"opened", ok, errors, ms}   once every attempt has finished
//   <- "status"  -> {"event":"status", ok, held, errors}   held = ok minus those the server closed since
//   <- "close"   -> ends every connection (a FIN; the server side closes in turn), waits up to 5 s for
//                   them to close, then {"event":"closed", left} and exit
// It also exits, destroying everything, when stdin ends (the parent went away) or after 10 minutes.
import { connect } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const [mode, portArg, countArg, path = '/'] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
if (!['http', 'ws'].includes(mode) || !(port > 0) || !(count > 0)) {
  console.error('usage: node bench/lib/hold.mjs http|ws PORT COUNT PATH');
  process.exit(2);
}
const concurrency = Number(process.env.HOLD_CONCURRENCY) || 64;
const deadline = Date.now() + (Number(process.env.HOLD_DEADLINE) || 60) * 1000;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const errors = {}; // kind -> count
const fail = (kind) => (errors[kind] = (errors[kind] ?? 0) + 1);
const held = new Set();
let ok = 0;
let dropped = 0;
let closing = false;

/** One attempt: resolves when the connection is held (true) or failed (false). */
function attempt() {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    let connected = false;
    let done = false;
    let head = Buffer.alloc(0);
    const key = randomBytes(16).toString('base64');
    const finish = (kind) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (kind) {
        fail(kind);
        s.destroy();
        resolve(false);
        return;
      }
      s.removeAllListeners('data');
      s.on('data', () => {
        if (!closing) fail('data while idle');
      });
      held.add(s);
      ok++;
      resolve(true);
    };
    const timer = setTimeout(() => finish(connected ? 'response timeout' : 'connect timeout'), 10_000);
    s.on('connect', () => {
      connected = true;
      s.write(
        mode === 'http'
          ? `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`
          : `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        'latin1',
      );
    });
    s.on('error', (err) => finish(connected ? `${err.code ?? 'error'}` : `connect ${err.code ?? 'error'}`));
    s.on('close', () => {
      if (!done) finish(connected ? 'closed before the response' : 'connect closed');
      else if (held.delete(s) && !closing) dropped++;
    });
    s.on('data', (chunk) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = head.subarray(0, end).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      if (mode === 'ws') {
        const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(text)?.[1];
        if (status !== '101') return finish(`status ${status ?? '?'}`);
        if (accept !== createHash('sha1').update(key + GUID).digest('base64')) return finish('bad accept');
        return finish(null);
      }
      if (status !== '200') return finish(`status ${status ?? '?'}`);
      if (/\r\nconnection:\s*close/i.test(text)) return finish('connection: close');
      const body = head.length - end - 4;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1];
      if (length !== undefined) {
        if (body >= Number(length)) finish(null);
      } else if (/\r\ntransfer-encoding:\s*chunked/i.test(text)) {
        if (head.subarray(end + 4).includes('0\r\n\r\n')) finish(null);
      } else finish('no length');
    });
  });
}

async function open() {
  const t0 = Date.now();
  let next = 0;
  const lane = async () => {
    while (next < count && !closing) {
      if (Date.now() > deadline) {
        fail('not attempted (deadline)');
        next++;
        continue;
      }
      next++;
      await attempt();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  say({ event: 'opened', ok, errors, ms: Date.now() - t0 });
}

function closeAll() {
  if (closing) return;
  closing = true;
  const left = () => [...held].filter((s) => !s.destroyed).length;
  for (const s of held) s.end();
  const t0 = Date.now();
  const poll = setInterval(() => {
    if (left() === 0 || Date.now() - t0 > 5000) {
      clearInterval(poll);
      const n = left();
      for (const s of held) s.destroy();
      say({ event: 'closed', left: n });
      process.exit(0);
    }
  }, 50);
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  input += d;
  let i;
  while ((i = input.indexOf('\n')) >= 0) {
    const cmd = input.slice(0, i).trim();
    input = input.slice(i + 1);
    if (cmd === 'status') say({ event: 'status', ok, held: held.size, dropped, errors });
    else if (cmd === 'close') closeAll();
  }
});
process.stdin.on('end', () => {
  for (const s of held) s.destroy();
  process.exit(0);
});
setTimeout(() => process.exit(1), 600_000).unref();
await open();
