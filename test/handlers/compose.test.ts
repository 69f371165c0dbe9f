// compose(): a route's guards in front of its handler (src/handlers/compose.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { compose } from '../../src/handlers/compose.js';
import type { Exchange } from '../../src/http/exchange.js';
import type { Guard, RouteHandler } from '../../src/http/route-handler.js';

const exchange = (): Exchange => ({ stage: 0, routeName: 'test route' }) as Exchange;

function guard(name: string, calls: string[], check: Guard['check'] = (ex, next) => next(ex), upgrades = true): Guard {
  return {
    name,
    upgrades,
    check(ex, next) {
      calls.push(name);
      check(ex, next);
    },
  };
}

function handler(calls: string[]): RouteHandler {
  return {
    handle: () => void calls.push('handler'),
    upgrade: (_ex, socket, head) => void calls.push(`upgrade ${String(socket)} ${head.toString()}`),
  };
}

test('no guards: the handler itself, nothing composed around it', () => {
  const h = handler([]);
  assert.equal(compose([], h), h);
});

test('guards run in order, then the handler; a guard that answers stops the chain', () => {
  const calls: string[] = [];
  compose([guard('a', calls), guard('b', calls), guard('c', calls)], handler(calls)).handle(exchange());
  assert.deepEqual(calls, ['a', 'b', 'c', 'handler']);
  const stopped: string[] = [];
  compose([guard('a', stopped), guard('refuses', stopped, () => {}), guard('c', stopped)], handler(stopped)).handle(exchange());
  assert.deepEqual(stopped, ['a', 'refuses']);
});

test('a guard may call next() later (a limit_req delay, a password check on a thread)', async () => {
  const calls: string[] = [];
  const later = guard('later', calls, (ex, next) => void setTimeout(() => next(ex), 5));
  compose([later, guard('b', calls)], handler(calls)).handle(exchange());
  assert.deepEqual(calls, ['later']);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(calls, ['later', 'b', 'handler']);
});

test('a next() called twice is refused: the handler runs once', () => {
  const calls: string[] = [];
  const twice = guard('twice', calls, (ex, next) => {
    next(ex);
    next(ex);
  });
  const composed = compose([twice, guard('b', calls)], handler(calls));
  assert.throws(() => composed.handle(exchange()), /next\(\) called twice: b entered again \(test route\)/);
  assert.deepEqual(calls, ['twice', 'b', 'handler']);
  // Also when the guard is the last one before the handler.
  const last: string[] = [];
  assert.throws(() => compose([guard('twice', last, (ex, next) => (next(ex), next(ex)))], handler(last)).handle(exchange()), /the handler entered again/);
  assert.deepEqual(last, ['twice', 'handler']);
});

test('each request walks the chain anew', () => {
  const calls: string[] = [];
  const composed = compose([guard('a', calls)], handler(calls));
  composed.handle(exchange());
  composed.handle(exchange());
  assert.deepEqual(calls, ['a', 'handler', 'a', 'handler']);
});

test('upgrades meet the guards that check them (not the body size), then the handler gets its socket', () => {
  const calls: string[] = [];
  const composed = compose([guard('body size', calls, undefined, false), guard('access', calls)], handler(calls));
  composed.upgrade!(exchange(), 'SOCKET' as unknown as Duplex, Buffer.from('HEAD'));
  assert.deepEqual(calls, ['access', 'upgrade SOCKET HEAD']);
  // Only guards that skip upgrades: the handler's own upgrade.
  const none: string[] = [];
  const bodyOnly = compose([guard('body size', none, undefined, false)], handler(none));
  bodyOnly.upgrade!(exchange(), 'S' as unknown as Duplex, Buffer.alloc(0));
  assert.deepEqual(none, ['upgrade S ']);
  // A handler without upgrade: none composed.
  assert.equal(compose([guard('a', [])], { handle() {} }).upgrade, undefined);
});
