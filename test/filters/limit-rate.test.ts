/**
 * `limit_rate` (src/filters/limit-rate.ts): the pacing itself on a recording writer under node's
 * mock clock (no wall-clock timing is asserted: the clock is moved by hand), and whole bodies
 * through real sockets for generated, static and proxied responses. Before this work an nginx
 * `limit_rate` refused the whole config (test/security/limits-never-fail-open.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Exchange } from '../../src/http/exchange.js';
import type { RequestHead } from '../../src/http/request.js';
import { limitRateFilter, type LimitRatePolicy } from '../../src/filters/limit-rate.js';
import { RecordingWriter } from '../helpers/recording-writer.js';
import { startPortico } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { get } from './compress-support.js';

/** A writer whose transport can be full (write() false) until drain() is called. */
class SlowWriter extends RecordingWriter {
  full = false;
  protected override sendBody(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return !this.full;
  }
  drain(): void {
    this.full = false;
    this.drained();
  }
  get sent(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }
}

function exchange(writer: RecordingWriter): Exchange {
  const req = { method: 'GET', url: '/', httpVersion: '1.1', httpVersionMajor: 1, httpVersionMinor: 1, rawHeaders: [], headers: {}, socket: {} } as unknown as RequestHead;
  return new Exchange(req, writer, null, {}, '127.0.0.1', '127.0.0.1', 'http', false, 0, 'a.test', '/', '/', '');
}

const policy = (rate: number, after = 0): LimitRatePolicy => ({ rate: () => rate, after: () => after });

function throttled(rate: number, after = 0, setRate = -1) {
  const inner = new SlowWriter();
  const ex = exchange(inner);
  ex.limitRate = setRate;
  const w = limitRateFilter(policy(rate, after))(inner, ex);
  w.writeHead(200, '', ['Content-Type', 'text/plain']);
  return { inner, w };
}

test('a body written at once leaves at the rate: the first second\'s worth at once, then in tenths, the end after its last byte', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { inner, w } = throttled(1000);
  w.end(Buffer.alloc(3500, 'x'));
  assert.equal(inner.sent, 1000);
  assert.equal(inner.ended, false);
  assert.equal(w.ended, true, 'the handler has ended it');
  for (let ms = 100; ms <= 2400; ms += 100) {
    t.mock.timers.tick(100);
    assert.equal(inner.sent, 1000 + ms, `at ${ms} ms`);
    assert.equal(inner.ended, false);
  }
  t.mock.timers.tick(100);
  assert.equal(inner.sent, 3500);
  assert.equal(inner.ended, true);
  assert.equal(Buffer.concat(inner.chunks).toString(), 'x'.repeat(3500));
});

test('limit_rate_after: the first bytes go at once, the rest at the rate', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { inner, w } = throttled(1000, 5000);
  w.end(Buffer.alloc(6500, 'y'));
  assert.equal(inner.sent, 6000);
  t.mock.timers.tick(400);
  assert.equal(inner.sent, 6400);
  assert.equal(inner.ended, false);
  t.mock.timers.tick(100);
  assert.equal(inner.sent, 6500);
  assert.equal(inner.ended, true);
});

test('write() says full while bytes are held, and onDrain() calls back once they have gone', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { inner, w } = throttled(1000);
  assert.equal(w.write(Buffer.alloc(1500)), false);
  assert.equal(w.writableLength, 500, 'what is held counts as the client\'s backlog');
  let drains = 0;
  w.onDrain(() => drains++);
  t.mock.timers.tick(400);
  assert.equal(inner.sent, 1400);
  assert.equal(drains, 0);
  t.mock.timers.tick(100);
  assert.equal(inner.sent, 1500);
  assert.equal(drains, 1);
  // The allowance is used up: the next bytes wait again.
  assert.equal(w.write(Buffer.alloc(10)), false);
  t.mock.timers.tick(100);
  assert.equal(inner.sent, 1510);
  t.mock.timers.tick(1000);
  assert.equal(drains, 1, 'each listener once');
});

test('a client slower than the rate: held bytes wait for the writer below to drain', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { inner, w } = throttled(1000);
  inner.full = true;
  assert.equal(w.write(Buffer.alloc(3000)), false);
  assert.equal(inner.sent, 1000);
  t.mock.timers.tick(100);
  assert.equal(inner.sent, 1100, 'one piece, then it waits for the client');
  t.mock.timers.tick(900);
  assert.equal(inner.sent, 1100, 'nothing more while the client is full');
  inner.drain();
  assert.equal(inner.sent, 2000, 'the allowance that grew meanwhile');
  t.mock.timers.tick(1000);
  assert.equal(inner.sent, 3000);
});

test('no limit, no wrapper; a `set` rate comes before the route\'s, and 0 turns it off', () => {
  const inner = new SlowWriter();
  const ex = exchange(inner);
  assert.equal(limitRateFilter(policy(0))(inner, ex), inner);
  ex.limitRate = 0;
  assert.equal(limitRateFilter(policy(1000))(inner, ex), inner);
  ex.limitRate = 500;
  assert.notEqual(limitRateFilter(policy(0))(inner, ex), inner);
});

test('a response that is over stops: nothing is written after the client went away', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { inner, w } = throttled(1000);
  w.end(Buffer.alloc(5000));
  assert.equal(inner.sent, 1000);
  w.destroy();
  t.mock.timers.tick(10_000);
  assert.equal(inner.sent, 1000);
  assert.equal(inner.ended, false);
});

test('limit_rate through real sockets: generated, static and proxied bodies arrive whole, $limit_rate from a set step', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-rate-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = Buffer.alloc(40 * 1024, 'f');
  await mkdir(join(dir, 'files'));
  await writeFile(join(dir, 'files', 'big.txt'), file);
  const proxied = Buffer.alloc(48 * 1024, 'p');
  const up = await startUpstream((_req, res) => res.end(proxied));
  t.after(() => up.close());
  const generated = 'g'.repeat(36 * 1024);
  const limit = { rate: '16k', after: '4k' };
  const p = await startPortico({
    servers: [
      {
        listen: '127.0.0.1:0',
        routes: [
          { path: '= /gen', respond: { body: generated }, limit_rate: limit },
          { path: '/files/', files: { root: dir }, limit_rate: limit },
          { path: '/up/', proxy: { to: up.address }, limit_rate: limit },
          { path: '= /set', respond: { body: 'set\n' }, rewrite: [{ set: 'limit_rate', value: '{arg.l}' }], response_headers: { set: { 'X-Rate': '{limit_rate}' } } },
        ],
      },
    ],
  });
  t.after(() => p.close());
  const [g, f, u, s, none] = await Promise.all([get(p.port, '/gen'), get(p.port, '/files/big.txt'), get(p.port, '/up/x'), get(p.port, '/set?l=40k'), get(p.port, '/set?l=fast')]);
  assert.equal(g.body.toString(), generated);
  assert.ok(f.body.equals(file));
  assert.ok(u.body.equals(proxied));
  assert.equal(s.headers['x-rate'], '40960');
  assert.equal(none.headers['x-rate'], '0');
});
