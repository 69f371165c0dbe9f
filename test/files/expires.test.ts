/**
 * `response_headers.expires` (nginx's expires on any response, src/http/expires.ts): the values
 * nginx's headers.t checks (epoch, max, off, a time, a negative time, modified, @time, variables,
 * a bad value), on a respond route and on a file, with the statuses nginx applies it to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpires } from '../../src/http/expires.js';
import { startPortico } from '../helpers/portico.js';
import { rawRequest } from '../proxy/support.js';

test('expires values parse as nginx parses them', () => {
  assert.deepEqual(parseExpires('epoch'), { kind: 'epoch' });
  assert.deepEqual(parseExpires('max'), { kind: 'max' });
  assert.deepEqual(parseExpires('2048'), { kind: 'access', seconds: 2048 });
  assert.deepEqual(parseExpires('-1h'), { kind: 'access', seconds: -3600 });
  assert.deepEqual(parseExpires('modified 1d'), { kind: 'modified', seconds: 86_400 });
  assert.deepEqual(parseExpires('@15h30m33s'), { kind: 'daily', seconds: 55_833 });
  assert.equal(parseExpires('@25h'), undefined, 'a time of day is less than 24h');
  assert.equal(parseExpires('modified @1h'), undefined);
  assert.equal(parseExpires('bad'), undefined);
});

test('expires on a route: Expires and Cache-Control as nginx sends them', async (t) => {
  const route = (path: string, expires: string, status = 200) => ({ path, response_headers: { expires }, respond: { status, body: status === 200 ? 'ok' : '' } });
  const portico = await startPortico({
    servers: [
      {
        routes: [
          route('/epoch', 'epoch'),
          route('/max', 'max'),
          route('/access', '2048'),
          route('/negative', '-2048'),
          route('/var', '{arg.e}'),
          route('/error', '2048', 404),
        ],
      },
    ],
  });
  t.after(() => portico.close());
  const get = async (path: string) => {
    const r = await rawRequest(portico.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const h = (n: string) => r.headers.find(([k]) => k.toLowerCase() === n)?.[1];
    return { expires: h('expires'), cc: h('cache-control') };
  };
  assert.deepEqual(await get('/epoch'), { expires: 'Thu, 01 Jan 1970 00:00:01 GMT', cc: 'no-cache' });
  assert.deepEqual(await get('/max'), { expires: 'Thu, 31 Dec 2037 23:55:55 GMT', cc: 'max-age=315360000' });
  assert.equal((await get('/access')).cc, 'max-age=2048');
  assert.equal((await get('/negative')).cc, 'no-cache');
  assert.equal((await get('/var?e=max')).cc, 'max-age=315360000');
  assert.equal((await get('/var?e=epoch')).expires, 'Thu, 01 Jan 1970 00:00:01 GMT');
  assert.deepEqual(await get('/var?e=bad'), { expires: undefined, cc: undefined }, 'a value that does not parse adds nothing');
  assert.deepEqual(await get('/var?e=off'), { expires: undefined, cc: undefined });
  assert.deepEqual(await get('/error'), { expires: undefined, cc: undefined }, 'not on a 404');
});
