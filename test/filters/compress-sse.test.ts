/**
 * Streams through compression, in Chromium: an EventSource receives compressed server-sent
 * events one by one, and a fetch() reader the chunks of an `X-Accel-Buffering: no` response,
 * each as it is produced. No timing is asserted: the app sends event n+1 only once the page
 * has told it (a fetch to /ack) that event n arrived, so an encoder holding an event back
 * until its buffer fills would stop the exchange at the first event. Over HTTP/1.1 (the lean
 * path) and HTTP/2.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { chromium, type BrowserContext } from 'playwright-core';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const CHROMIUM = process.env.PORTICO_E2E_CHROMIUM ?? '/usr/bin/chromium';
const EVENTS = 5;

const PAGE = `<!doctype html><title>waiting</title><pre id="events"></pre><pre id="log"></pre>
<script>
const seen = [];
const es = new EventSource('/events');
es.onmessage = async (e) => {
  seen.push(e.data);
  await fetch('/ack?stream=events&n=' + seen.length);
  if (seen.length === ${EVENTS}) { es.close(); document.getElementById('events').textContent = 'events:' + seen.join('|'); }
};
async function chunks() {
  const res = await fetch('/chunks');
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  const got = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const part of dec.decode(value, { stream: true }).split('\\n')) if (part) {
      got.push(part);
      await fetch('/ack?stream=chunks&n=' + got.length);
    }
  }
  document.getElementById('log').textContent = 'chunks:' + got.join('|');
}
chunks();
</script>`;

let upstream: TestUpstream;
let plain: TestPortico;
let tls: TestPortico;
let dir: string;
/** The open streams by name, and how far each has got. */
const open = new Map<string, { res: ServerResponse; sent: number; make: (n: number) => string }>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-compress-sse-'));
  upstream = await startUpstream((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const start = (name: string, head: Record<string, string>, make: (n: number) => string) => {
      res.writeHead(200, head);
      const s = { res, sent: 1, make };
      open.set(name, s);
      res.write(make(1));
    };
    switch (url.pathname) {
      case '/':
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        return res.end(PAGE);
      case '/events':
        // Each event a little over a kilobyte of text: worth compressing, far below zlib's buffers.
        return start('events', { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' }, (n) => `data: event ${n} ${'lorem ipsum '.repeat(100)}\n\n`);
      case '/chunks':
        return start('chunks', { 'Content-Type': 'text/plain; charset=utf-8', 'X-Accel-Buffering': 'no' }, (n) => `chunk ${n} ${'dolor sit amet '.repeat(80)}\n`);
      case '/ack': {
        res.writeHead(204).end();
        const s = open.get(url.searchParams.get('stream')!);
        if (!s || Number(url.searchParams.get('n')) !== s.sent) return;
        if (s.sent === EVENTS) return void s.res.end();
        s.sent++;
        s.res.write(s.make(s.sent));
        return;
      }
      default:
        res.writeHead(404).end();
    }
  });
  const routes = [{ path: '/', proxy: { to: upstream.address } }];
  plain = await startPortico({ servers: [{ compress: true, routes }] });
  tls = await startPortico({ data_dir: join(dir, 'data'), servers: [{ tls: 'internal', compress: true, routes }] });
});

after(async () => {
  for (const s of open.values()) s.res.destroy();
  await Promise.all([plain?.close(), tls?.close()]);
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

async function browse(t: { after(fn: () => unknown): void }, url: string): Promise<{ events: string; log: string; encodings: Record<string, string | undefined>; protocol: string | undefined }> {
  const profile = await mkdtemp(join(tmpdir(), 'portico-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ignoreHTTPSErrors: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(async () => {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const encodings: Record<string, string | undefined> = {};
  let protocol: string | undefined;
  page.on('response', async (r) => {
    const path = new URL(r.url()).pathname;
    if (path === '/events' || path === '/chunks') {
      encodings[path] = (await r.allHeaders())['content-encoding'];
      protocol ??= ((await r.request().allHeaders())[':method'] !== undefined ? 'h2' : 'http/1.1');
    }
  });
  open.clear();
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('events')!.textContent!.startsWith('events:') && document.getElementById('log')!.textContent!.startsWith('chunks:'));
  return { events: (await page.textContent('#events'))!, log: (await page.textContent('#log'))!, encodings, protocol };
}

function expected(kind: 'event' | 'chunk'): string {
  return Array.from({ length: EVENTS }, (_, i) => (kind === 'event' ? `event ${i + 1} ${'lorem ipsum '.repeat(100)}` : `chunk ${i + 1} ${'dolor sit amet '.repeat(80)}`)).join('|');
}

for (const [name, portico, scheme] of [
  ['HTTP/1.1', () => plain, 'http'],
  ['HTTP/2', () => tls, 'https'],
] as const) {
  test(`Chromium receives compressed server-sent events and X-Accel-Buffering: no chunks one by one: ${name}`, async (t) => {
    const r = await browse(t, `${scheme}://localhost:${portico().port}/`);
    assert.ok(r.events === `events:${expected('event')}`, `the events as sent: ${r.events.slice(0, 200)}...`);
    assert.ok(r.log === `chunks:${expected('chunk')}`, `the chunks as sent: ${r.log.slice(0, 200)}...`);
    assert.ok(r.encodings['/events'] === 'br' || r.encodings['/events'] === 'gzip' || r.encodings['/events'] === 'zstd', `events: ${r.encodings['/events']}`);
    assert.ok(r.encodings['/chunks'] === 'br' || r.encodings['/chunks'] === 'gzip' || r.encodings['/chunks'] === 'zstd', `chunks: ${r.encodings['/chunks']}`);
    assert.equal(r.protocol, name === 'HTTP/2' ? 'h2' : 'http/1.1');
  });
}
