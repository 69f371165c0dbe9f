/**
 * The fuzzer's oracle (test/fuzz/oracle.ts) can fail: for each bug class issue 12 lists, an
 * observation shaped like what the bug produced on the code before its fix is judged, and the
 * class must be flagged; the correct observation must not be. Also: the generator is
 * deterministic (a seed and case index give the same bytes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OriginRequest } from '../helpers/recording-origin.js';
import { generateCase, type H1Case } from '../fuzz/generate.js';
import { expectedH1, judge, readRequests, type Observation } from '../fuzz/oracle.js';

const FORWARDING: [string, string][] = [
  ['X-Forwarded-For', '127.0.0.1'],
  ['X-Real-IP', '127.0.0.1'],
  ['X-Forwarded-Proto', 'http'],
  ['X-Forwarded-Host', 'fuzz.test'],
];

function h1(bytes: string): H1Case {
  return { kind: 'h1', index: 0, tag: 'k0k', writes: [Buffer.from(bytes, 'latin1')], labels: [] };
}

let seq = 0;
function origin(method: string, target: string, headers: [string, string][] = [], body = ''): OriginRequest {
  return { method, target, version: 'HTTP/1.1', headers: [['Host', 'fuzz.test'], ...headers, ...FORWARDING], body: Buffer.from(body), connection: 0, indexOnConnection: 0, seq: seq++ };
}

function answer(o: OriginRequest, method = o.method): string {
  const body = JSON.stringify({ seq: o.seq, method, target: o.target, connection: 0 });
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

function classes(c: H1Case, seen: OriginRequest[], received: string, extra: Partial<Observation> = {}): string[] {
  const { reading, expected } = expectedH1(c);
  const obs: Observation = { proxy: 'portico', received: Buffer.from(received, 'latin1'), closed: false, timedOut: false, origin: seen, unframed: 0, ...extra };
  return judge(c, expected, obs, reading.tail, true).problems.map((p) => p.class);
}

test('oracle: a body nominated away and read as a second request (item 1) is smuggling', () => {
  const body = 'GET /smuggled/k0k HTTP/1.1\r\nHost: fuzz.test\r\n\r\n';
  const c = h1(`POST /a/k0k HTTP/1.1\r\nHost: fuzz.test\r\nConnection: Content-Length\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  const right = origin('POST', '/a/k0k', [['Content-Length', String(body.length)]], body);
  assert.deepEqual(classes(c, [right], answer(right)), []);
  const first = origin('POST', '/a/k0k');
  const smuggled = origin('GET', '/smuggled/k0k');
  assert.deepEqual(classes(c, [first, smuggled], answer(first)).sort(), ['body-differs', 'smuggled-request']);
});

test('oracle: a fragment routed one way and served another (item 2) is a route bypass', () => {
  const c = h1('GET /denied/k0k/#/../../a/k0k HTTP/1.1\r\nHost: fuzz.test\r\n\r\n');
  assert.deepEqual(classes(c, [], 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n', { closed: true }), []);
  const o = origin('GET', '/denied/k0k/#/../../a/k0k');
  assert.ok(classes(c, [o], answer(o)).includes('route-bypass'));
});

test("oracle: another client's response, or bytes after a body-less response (item 3), is cross-talk", () => {
  const c = h1('GET /a/k0k HTTP/1.1\r\nHost: fuzz.test\r\n\r\n');
  const mine = origin('GET', '/a/k0k');
  const other = origin('GET', '/__victim/v0/1');
  assert.deepEqual(classes(c, [mine], answer(mine)), []);
  assert.deepEqual(classes(c, [mine], answer(other)), ['cross-talk']);
  const injected = '{"seq":-1,"method":"INJECTED","target":"/__injected","connection":-1}';
  assert.deepEqual(classes(c, [mine], `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${injected.length}\r\n\r\n${injected}`), ['cross-talk']);
});

test('oracle: forwarded underscore, nominated, hop-by-hop and spoofed headers (item 5 and the contract) are flagged', () => {
  const c = h1('GET /a/k0k HTTP/1.1\r\nHost: fuzz.test\r\nConnection: X-Secret\r\nX-Secret: s\r\nX_Forwarded_For: 6.6.6.6\r\nTE: trailers\r\nX-Forwarded-Port: 1\r\n\r\n');
  const clean = origin('GET', '/a/k0k');
  assert.deepEqual(classes(c, [clean], answer(clean)), []);
  const leaky = origin('GET', '/a/k0k', [['X-Secret', 's'], ['X_Forwarded_For', '6.6.6.6'], ['TE', 'trailers'], ['X-Forwarded-Port', '1']]);
  assert.deepEqual(classes(c, [leaky], answer(leaky)).sort(), ['hop-by-hop-forwarded', 'nominated-forwarded', 'spoofed-forwarding', 'underscore-header']);
});

test('oracle: two Transfer-Encoding fields (item 14) are refused by the reference for their framing', () => {
  const reading = readRequests(Buffer.from('POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'));
  assert.equal(reading.tail.kind, 'invalid');
  assert.ok(reading.tail.kind === 'invalid' && reading.tail.framing);
});

test('oracle: a head whose lines end in a bare LF is read as nginx reads it; a bare CR is still a framing fault (issue 18 item 2)', () => {
  const lf = readRequests(Buffer.from('GET /a HTTP/1.1\nHost: x\nX-One: 1\n\nGET /b HTTP/1.1\r\nHost: x\n\r\n'));
  assert.equal(lf.tail.kind, 'end');
  assert.deepEqual(lf.requests.map((r) => [r.target, r.headers, r.invalid]), [
    ['/a', [['Host', 'x'], ['X-One', '1']], undefined],
    ['/b', [['Host', 'x']], undefined],
  ]);
  // Two LFs end the head: what follows is the next request-line, not a field.
  const hidden = readRequests(Buffer.from('GET /a HTTP/1.1\nHost: x\n\nX-One: 1\n\n'));
  assert.deepEqual(hidden.requests.map((r) => r.headers), [[['Host', 'x']]]);
  assert.equal(hidden.tail.kind, 'invalid');
  for (const bytes of ['GET /a HTTP/1.1\rHost: x\r\n\r\n', 'GET /a HTTP/1.1\r\nHost: x\r\n\rX', 'GET /a HTTP/1.1\nHost: x\rY: 1\n\n']) {
    const r = readRequests(Buffer.from(bytes));
    assert.ok(r.tail.kind === 'invalid' && r.tail.reason === 'bare-cr', JSON.stringify(bytes));
  }
  // In chunked framing the reference stays stricter than nginx: Portico refuses a bare LF there.
  const chunked = readRequests(Buffer.from('POST /a HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n3\nabc\r\n0\r\n\r\n'));
  assert.ok(chunked.tail.kind === 'invalid' && chunked.tail.framing);
});

test('oracle: a request answered neither with a response nor a close is a stall; an incomplete one is not', () => {
  const complete = h1('GET /a/k0k HTTP/1.1\r\nHost: fuzz.test\r\n\r\n');
  assert.deepEqual(classes(complete, [], '', { timedOut: true }), ['stall']);
  const incomplete = h1('POST /a/k0k HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length: 10\r\n\r\nabc');
  assert.deepEqual(classes(incomplete, [], '', { timedOut: true }), []);
});

test('generator: the same seed and case index give the same bytes; another seed does not', () => {
  const bytes = (seed: number, i: number) => {
    const c = generateCase(seed, i);
    return c.kind === 'h1' ? Buffer.concat(c.writes).toString('latin1') : JSON.stringify([c.headers, c.data.map((d) => d.toString('latin1'))]);
  };
  for (let i = 0; i < 50; i++) assert.equal(bytes(7, i), bytes(7, i));
  let differ = 0;
  for (let i = 0; i < 50; i++) if (bytes(7, i) !== bytes(8, i)) differ++;
  assert.ok(differ > 40, `only ${differ} of 50 cases differ between seeds`);
});
