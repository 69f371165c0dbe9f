// An HTTP/2 request whose stream the client resets while a guard holds it (a limit_req delay
// within the burst) is dropped: it never reaches the app server. The guards asked node's
// HTTP/2 compatibility response whether it was destroyed, a property it does not have, so a
// reset stream looked alive and the request was proxied once its delay ran out (issue 13: the
// ResponseWriter binding answers for the stream). On HTTP/1.1 the same check always worked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { startPortico } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { tempDir } from '../helpers/tls.js';
import { within } from '../proxy/support.js';

function get(session: ClientHttp2Session, path: string): ClientHttp2Stream {
  const stream = session.request({ ':method': 'GET', ':path': path });
  stream.on('error', () => {});
  stream.end();
  return stream;
}

async function status(stream: ClientHttp2Stream): Promise<number> {
  const [headers] = (await within(once(stream, 'response'), 20_000, 'a response')) as [IncomingHttpHeaders];
  stream.resume();
  return Number(headers[':status']);
}

test('HTTP/2: a stream reset during a limit_req delay never reaches the upstream', async (t) => {
  const dataDir = await tempDir(t, 'portico-h2-reset-');
  const upstream = await startUpstream();
  // One request a second, five more queued: the second waits about a second, the third two.
  const portico = await startPortico({
    data_dir: dataDir,
    servers: [{ tls: 'internal', routes: [{ path: '/', proxy: { to: upstream.address }, limit_req: { rate: '1r/s', burst: 5 } }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const ca = await readFile(join(dataDir, 'pki/authorities/local/root.crt'), 'utf8');
  const session = h2connect(`https://localhost:${portico.port}`, { ca, host: '127.0.0.1', servername: 'localhost' } as never);
  t.after(() => session.destroy());
  await within(once(session, 'connect'), 10_000, 'the HTTP/2 session');

  assert.equal(await status(get(session, '/one')), 200);
  const two = get(session, '/two');
  // The PING's answer comes after Portico read the request's HEADERS frame sent before it:
  // the request is in its limit_req delay now.
  await within(new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve()))), 10_000, 'a PING answered');
  two.close(constants.NGHTTP2_CANCEL);
  // Delayed behind /two, so answered only after /two's delay ran out.
  assert.equal(await status(get(session, '/three')), 200);
  assert.deepEqual(
    upstream.seen.map((r) => r.url),
    ['/one', '/three'],
  );
});
