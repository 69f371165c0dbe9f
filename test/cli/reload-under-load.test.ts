// Restart and upgrade without dropping anyone (issue 17), under load on loopback: 20 reloads
// that each move an extra listen address and change the HTTPS names, then one upgrade in
// place, while HTTP/1.1 (GET and POST, keep-alive), HTTP/2 and WebSocket clients run. Counted
// is what must survive: requests on addresses that stay, new connections to addresses that
// exist at that moment, WebSockets. Expected: no failed request, no WebSocket closed
// abnormally. An HTTP/2 request the server refused with GOAWAY (REFUSED_STREAM, or a session
// closed before the request went out) was not processed and is sent again on a new
// connection, as RFC 9113 §8.7 allows any client; those are counted apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { connect as h2connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { childrenOf, killAfter, runCli, startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/django.js';
import { createTestCa, writePair } from '../helpers/tls.js';
import { openWs, startWsEcho, type WsClient } from '../helpers/websocket.js';
import { startUpstream } from '../helpers/upstream.js';

const RELOADS = 20;
/** Every client stops after this many requests, whatever happens (the test is bounded). */
const MAX_REQUESTS = 20_000;

interface Tally {
  ok: number;
  failed: string[];
  /** HTTP/2 requests refused by a GOAWAY before processing, sent again (RFC 9113 §8.7). */
  retriedH2: number;
}

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function h1(agent: Agent | false, port: number, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** One HTTP/1.1 keep-alive client: GETs and POSTs one after another. */
async function h1Client(port: number, stop: () => boolean, tally: Tally): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < MAX_REQUESTS && !stop(); i++) {
      const post = i % 2 === 1;
      try {
        const r = await h1(agent, port, post ? 'POST' : 'GET', post ? '/echo' : '/', post ? `body ${i}` : undefined);
        if (r.status === 200 && (post ? r.text === `body ${i}` : r.text.startsWith('A gen'))) tally.ok++;
        else tally.failed.push(`h1 ${post ? 'POST' : 'GET'}: ${r.status} ${r.text.slice(0, 60)}`);
      } catch (err) {
        tally.failed.push(`h1 ${post ? 'POST' : 'GET'}: ${(err as Error).message}`);
      }
    }
  } finally {
    agent.destroy();
  }
}

/** One HTTP/2 client on the HTTPS address: a session reused until the server sends GOAWAY, then a new one. */
async function h2Client(port: number, ca: string, stop: () => boolean, tally: Tally): Promise<void> {
  let session: ClientHttp2Session | undefined;
  const fresh = () => {
    const s = h2connect(`https://stable.test:${port}`, { ca, host: '127.0.0.1', servername: 'stable.test' } as never);
    s.on('error', () => {});
    s.on('goaway', () => {
      if (session === s) session = undefined;
    });
    s.on('close', () => {
      if (session === s) session = undefined;
    });
    return s;
  };
  const once = (s: ClientHttp2Session): Promise<{ status: number; text: string } | 'refused'> =>
    new Promise((resolve, reject) => {
      let stream;
      try {
        stream = s.request({ ':path': '/', ':authority': `stable.test:${port}` });
      } catch {
        return resolve('refused'); // the session had closed: nothing was sent
      }
      let status = 0;
      let text = '';
      stream.setEncoding('utf8');
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: string) => (text += c));
      stream.on('end', () => resolve({ status, text }));
      stream.on('close', () => {
        if (stream.rstCode === h2.NGHTTP2_REFUSED_STREAM || (status === 0 && s.destroyed)) resolve('refused');
      });
      stream.on('error', (err: Error) => (stream.rstCode === h2.NGHTTP2_REFUSED_STREAM ? resolve('refused') : reject(err)));
      stream.end();
    });
  try {
    for (let i = 0; i < MAX_REQUESTS && !stop(); i++) {
      try {
        let r = await once((session ??= fresh()));
        for (let again = 0; r === 'refused' && again < 3; again++) {
          tally.retriedH2++;
          session = fresh();
          r = await once(session);
        }
        if (r !== 'refused' && r.status === 200 && r.text.startsWith('B gen')) tally.ok++;
        else tally.failed.push(`h2: ${r === 'refused' ? 'refused three times' : `${r.status} ${r.text.slice(0, 60)}`}`);
      } catch (err) {
        tally.failed.push(`h2: ${(err as Error).message}`);
      }
    }
  } finally {
    session?.close();
  }
}

/** A WebSocket kept open the whole time, echoing now and then; closed with the closing handshake at the end. */
async function wsClient(socket: WsClient, stop: () => boolean, tally: Tally, ends: string[]): Promise<void> {
  for (let i = 0; i < MAX_REQUESTS && !stop(); i++) {
    try {
      const text = `m${i}`;
      if ((await socket.echo(text)) === text) tally.ok++;
      else tally.failed.push('ws: wrong echo');
    } catch (err) {
      tally.failed.push(`ws: ${(err as Error).message}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  ends.push(await socket.close());
}

/** WebSockets opened and closed one after another (new connections while reloads happen). */
async function wsChurn(port: number, stop: () => boolean, tally: Tally, ends: string[]): Promise<void> {
  for (let i = 0; i < 500 && !stop(); i++) {
    try {
      const socket = await openWs(port, '/ws');
      for (let j = 0; j < 3; j++) if ((await socket.echo(`c${j}`)) === `c${j}`) tally.ok++;
      ends.push(await socket.close());
    } catch (err) {
      tally.failed.push(`ws churn: ${(err as Error).message}`);
    }
  }
}

test(`${RELOADS} reloads that move a listen address and change HTTPS names, then an upgrade in place, under HTTP/1.1, HTTP/2 and WebSocket load: nothing fails`, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-load-reload-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await createTestCa();
  const names = ['stable.test', ...Array.from({ length: RELOADS + 1 }, (_, i) => `n${i}.test`)];
  const pair = await writePair(dir, 'site', await ca.issue(names));
  const ws = await startWsEcho();
  const app = await startUpstream((_req, res, body) => res.end(body));
  t.after(() => Promise.all([ws.close(), app.close()]));
  const [plain, secure] = [await freePort(), await freePort()];
  const extras = [await freePort(), await freePort()];
  const file = join(dir, 'portico.yaml');
  const yaml = (gen: number) =>
    [
      'access_log: false',
      'shutdown_timeout: 60s',
      'servers:',
      `  - listen: ["127.0.0.1:${plain}"]`,
      '    routes:',
      `      - { path: /ws, proxy: { to: "${ws.address}" } }`,
      `      - { path: = /echo, proxy: { to: "${app.address}" } }`,
      `      - { path: /, respond: { body: "A gen${gen}" } }`,
      `  - listen: ["127.0.0.1:${secure}"]`,
      `    hosts: [stable.test, n${gen}.test]`,
      `    tls: { cert: ${pair.cert}, key: ${pair.key} }`,
      '    routes:',
      `      - { path: /ws, proxy: { to: "${ws.address}" } }`,
      `      - { path: /, respond: { body: "B gen${gen}" } }`,
      // The address that moves: a reload removes one and adds the other.
      `  - listen: ["127.0.0.1:${extras[gen % 2]}"]`,
      '    routes:',
      `      - { path: /, respond: { body: "C gen${gen}" } }`,
      '',
    ].join('\n');
  await writeFile(file, yaml(0));
  const env = { ...process.env, PORTICO_DATA_DIR: join(dir, 'data') };
  const portico = await startCli(['run', '-c', file], dir, env);
  const launcher = portico.child.pid!;
  const oldPid = portico.pid;
  killAfter(t, () => [launcher, ...childrenOf(launcher)]);

  const tally: Tally = { ok: 0, failed: [], retriedH2: 0 };
  const wsEnds: string[] = [];
  let stopping = false;
  const stop = () => stopping;
  t.after(() => (stopping = true));
  const longLived = [await openWs(plain, '/ws'), await openWs(plain, '/ws'), await openWs(secure, '/ws', { ca: ca.pem, servername: 'stable.test' })];
  const clients = [
    ...Array.from({ length: 3 }, () => h1Client(plain, stop, tally)),
    ...Array.from({ length: 2 }, () => h2Client(secure, ca.pem, stop, tally)),
    ...longLived.map((s) => wsClient(s, stop, tally, wsEnds)),
    wsChurn(plain, stop, tally, wsEnds),
  ];
  await until('the clients to get going', () => tally.ok > 100);

  // New connections to what exists at each moment: the moved address, the new name.
  const fresh: string[] = [];
  const check = async (gen: number) => {
    const c = await h1(false, extras[gen % 2]!, 'GET', '/');
    if (c.text !== `C gen${gen}`) fresh.push(`extra address after reload ${gen}: ${c.status} ${c.text}`);
    const named = await new Promise<string>((resolve, reject) => {
      const s = h2connect(`https://n${gen}.test:${secure}`, { ca: ca.pem, host: '127.0.0.1', servername: `n${gen}.test` } as never);
      s.on('error', reject);
      const st = s.request({ ':path': '/' });
      let text = '';
      st.setEncoding('utf8');
      st.on('data', (x: string) => (text += x));
      st.on('end', () => {
        s.close();
        resolve(text);
      });
      st.on('error', reject);
      st.end();
    });
    if (named !== `B gen${gen}`) fresh.push(`name n${gen}.test after reload ${gen}: ${named}`);
  };
  await check(0);
  const reloaded = () => portico.stderr().split('config reloaded').length - 1;
  for (let gen = 1; gen <= RELOADS; gen++) {
    await writeFile(file, yaml(gen));
    portico.child.kill('SIGHUP');
    await until(`reload ${gen}`, () => reloaded() === gen);
    await check(gen).catch((err: Error) => fresh.push(`after reload ${gen}: ${err.message}`));
  }
  const okBeforeUpgrade = tally.ok;

  const sent = await runCli(['upgrade', '-c', file], dir, env);
  assert.equal(sent.code, 0, sent.stderr);
  await until('the new process to serve', () => portico.stderr().includes(`; pid ${oldPid} drains`));
  const newPid = childrenOf(launcher).find((p) => p !== oldPid && alive(p));
  await check(RELOADS).catch((err: Error) => fresh.push(`after the upgrade: ${err.message}`));
  await until('more answers after the upgrade', () => tally.ok > okBeforeUpgrade + 500);
  stopping = true;
  await Promise.all(clients);
  // The long-lived WebSockets lived on the old process: it ends once they are closed.
  await until('the old process to exit', () => !alive(oldPid));

  t.diagnostic(
    `${RELOADS} reloads and 1 upgrade (pid ${oldPid} -> ${newPid}): ${tally.ok} requests and WebSocket messages answered, ` +
      `${tally.failed.length} failed; ${wsEnds.length} WebSockets closed (${wsEnds.filter((e) => e === 'clean').length} cleanly); ` +
      `${tally.retriedH2} HTTP/2 requests refused by GOAWAY and sent again; ${fresh.length} checks of new addresses and names failed`,
  );
  assert.deepEqual(tally.failed, []);
  assert.deepEqual(fresh, []);
  assert.deepEqual(
    wsEnds.filter((e) => e !== 'clean'),
    [],
  );
  assert.ok(wsEnds.length >= 3);
  assert.equal(portico.child.exitCode, null, 'the launcher serves on');
});
