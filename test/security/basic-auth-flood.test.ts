// A flood of wrong basic_auth passwords must not stall the server (issue 12 item 7): before,
// bcrypt ran on the event loop, and ~14 wrong passwords a second pushed every other route of
// the process from 1 ms to seconds. Now checks run on verifier threads behind a bounded queue
// (full: 503 with Retry-After), and an address with too many wrong credentials gets 429 with
// Retry-After without any check; logins that verified before, and other addresses, go on.
// No timing is asserted: what is checked is where bcrypt runs (never on the event loop: this
// test runs Portico in its own process and counts bcryptjs calls there), the statuses, and
// that the plain route answers every request of the flood.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { startPortico } from '../helpers/portico.js';
import { http, delay, all, eventually, RawClient, type RawResponse } from '../proxy/support.js';

const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
let aliceHash = '';
let bobHash = '';
let carolHash = '';

/** Counts bcryptjs work done on this (the event loop's) thread while `fn` runs. */
async function onEventLoop<V>(fn: () => Promise<V>): Promise<{ value: V; calls: number }> {
  const lib = bcrypt as unknown as Record<string, (...args: unknown[]) => unknown>;
  const names = ['compare', 'compareSync', 'hash', 'hashSync'];
  const saved = names.map((n) => lib[n]!);
  let calls = 0;
  names.forEach((n, i) => {
    lib[n] = (...args: unknown[]) => {
      calls++;
      return saved[i]!(...args);
    };
  });
  try {
    return { value: await fn(), calls };
  } finally {
    names.forEach((n, i) => (lib[n] = saved[i]!));
  }
}

before(() => {
  aliceHash = bcrypt.hashSync('alice password', 10);
  bobHash = bcrypt.hashSync('bob password', 10);
  carolHash = bcrypt.hashSync('carol password', 4);
});

test('a flood of wrong passwords: no bcrypt on the event loop, 401 then 429 for that address; the plain route and other logins go on', async (t) => {
  const portico = await startPortico({
    servers: [
      {
        trusted_proxies: ['127.0.0.1'], // X-Forwarded-For names the client: several addresses from one test
        routes: [
          { path: '/private/', respond: { body: 'secret' }, basic_auth: { users: { alice: aliceHash, bob: bobHash, carol: carolHash } } },
          { path: '/', respond: { body: 'plain' } },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  const attacker = '203.0.113.7';
  const get = (path: string, client: string, authorization?: string) =>
    http(`${portico.url}${path}`, { headers: { 'X-Forwarded-For': client, ...(authorization ? { Authorization: authorization } : {}) } });

  const { value, calls } = await onEventLoop(async () => {
    // alice logs in from the attacker's address before the flood (her browser then resends the same header).
    assert.equal((await get('/private/', attacker, basic('alice', 'alice password'))).status, 200);
    // 40 wrong passwords at about 20/s, each on its own connection, not waiting for answers; a plain request beside each.
    const wrong: Promise<{ status: number; headers: Record<string, unknown> }>[] = [];
    const plain: Promise<{ status: number }>[] = [];
    for (let i = 0; i < 40; i++) {
      wrong.push(get('/private/', attacker, basic('alice', `guess ${i}`)));
      plain.push(get('/', attacker));
      await delay(50);
    }
    const during = await get('/private/', attacker, basic('alice', 'alice password'));
    return { wrong: await Promise.all(wrong), plain: await Promise.all(plain), during };
  });

  assert.equal(calls, 0, 'no bcrypt work on the event loop');
  assert.deepEqual(
    value.plain.map((r) => r.status),
    Array(40).fill(200),
    'the plain route answered every request of the flood',
  );
  const statuses = value.wrong.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 401).length, 10, `max_failures (10) checks, then none: ${statuses.join(' ')}`);
  assert.equal(statuses.filter((s) => s === 429).length, 30);
  for (const r of value.wrong.filter((r) => r.status === 429)) {
    const after = Number(r.headers['retry-after']);
    assert.ok(after >= 1 && after <= 60, `Retry-After ${String(r.headers['retry-after'])} within the 1m window`);
    assert.equal(r.headers['www-authenticate'], undefined, 'a 429 asks for no credentials');
  }
  assert.equal(value.during.status, 200, 'credentials verified before the flood still log in from that address');
  assert.equal((await get('/private/', '198.51.100.1', basic('bob', 'bob password'))).status, 200, 'another address logs in');
  assert.equal((await get('/private/', '198.51.100.1', basic('bob', 'wrong'))).status, 401, 'and gets its own count');
  // The trade-off of a limit per address: credentials not verified before wait for the window there too.
  assert.equal((await get('/private/', attacker, basic('carol', 'carol password'))).status, 429, 'the locked-out address gets no new check until its window passes');
  assert.equal((await get('/private/', attacker, basic('bob', 'bob password'))).status, 200, 'credentials verified before (from anywhere) are not checked again');
});

test('the same credentials sent at once are checked once, and count as one failure', async (t) => {
  const portico = await startPortico({
    password_checks: { max_failures: 2 },
    servers: [{ routes: [{ path: '/', respond: { body: 'secret' }, basic_auth: { users: { alice: aliceHash } } }] }],
  });
  t.after(() => portico.close());
  const get = (password: string) => http(portico.url, { headers: { Authorization: basic('alice', password) } });
  const same = await Promise.all(Array.from({ length: 6 }, () => get('same guess')));
  assert.deepEqual(
    same.map((r) => r.status),
    Array(6).fill(401),
  );
  assert.equal((await get('second guess')).status, 401, 'six requests, one check: one failure so far');
  assert.equal((await get('third guess')).status, 429);
});

test('every verifier thread busy and the queue full: 503 with Retry-After at once, nothing more queued', async (t) => {
  // Every check here is one that does not end while the test runs: bcrypt at cost 31 (2^31
  // rounds; the salt and digest of a cost-4 hash with the cost field raised), each with its own
  // password so none joins another. With one thread and a queue of one, whatever the order the
  // four requests arrive in, two are taken (one running, one queued) and stay unanswered, and
  // two are refused at once. (A real cost-13 check "long enough for the others to arrive" made
  // the test wait for two of them in turn, at the verifier threads' lowered priority: tens of
  // seconds on a loaded machine, past the client's deadline.)
  const endless = bcrypt.hashSync('right', 4).replace(/^\$2([aby])\$04\$/, '$$2$1$$31$$');
  assert.match(endless, /^\$2[aby]\$31\$/);
  const portico = await startPortico({
    shutdown_timeout: '100ms',
    password_checks: { threads: 1, queue: 1, max_failures: 0 },
    servers: [{ routes: [{ path: '/', respond: { body: 'secret' }, basic_auth: { users: { alice: endless } } }] }],
  });
  t.after(() => portico.close());
  const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(portico.port)));
  t.after(() => clients.forEach((c) => c.destroy()));
  const answers: (RawResponse | undefined)[] = [undefined, undefined, undefined, undefined];
  clients.forEach((c, i) => {
    c.write(`GET / HTTP/1.1\r\nHost: a.test\r\nAuthorization: ${basic('alice', `guess ${i}`)}\r\n\r\n`);
    c.response({ ms: 60_000 }).then(
      (r) => (answers[i] = r),
      () => {},
    );
  });
  await eventually(() => answers.filter(Boolean).length === 2, 'two answers', 15_000);
  const refused = answers.filter((r): r is RawResponse => r !== undefined);
  for (const r of refused) {
    assert.equal(r.status, 503, 'the queue is full: refused, not queued');
    assert.deepEqual(all(r, 'retry-after'), ['1']);
  }
  assert.equal(answers.filter(Boolean).length, 2, 'the running and the queued check still wait');
});
