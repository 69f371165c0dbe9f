// The live dashboard in headless Chromium (playwright-core): the page renders, its numbers move
// when traffic flows, a click on Drain changes the server's state and real requests then avoid
// that server, request text in the live tail is shown as text (never run), and a config of
// 1,000 routes and 100 upstream servers renders and stays responsive (figures reported as
// diagnostics, not asserted). PORTICO_DASHBOARD_SCREENSHOT=FILE saves a picture of the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { rawRequest } from '../proxy/support.js';
import { getMany, startAdminPortico } from './support.js';

const CHROMIUM = process.env.PORTICO_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** Chromium with a fresh profile (a persistent context is how playwright takes --user-data-dir). */
async function launch(t: { after: (fn: () => unknown) => void }, viewport = { width: 1300, height: 1100 }): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'portico-dashboard-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return browser;
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector)) ?? '';
}

test('the dashboard renders, its numbers move with traffic, and Drain takes a server out of rotation', async (t) => {
  const a = await startUpstream();
  const b = await startUpstream();
  t.after(() => Promise.all([a.close(), b.close()]));
  const p = await startAdminPortico({
    upstreams: { app: { servers: [a.address, b.address] } },
    servers: [{ routes: [{ path: '/api/', proxy: { to: 'app' } }, { path: '/', respond: { status: 200, body: 'home' } }] }],
  });
  t.after(() => p.close());
  const browser = await launch(t);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://${p.admin}/`);
  await page.waitForSelector('#live.on', { timeout: 20_000 });
  await page.waitForSelector(`tr[data-upstream="${a.address}"]`);
  const before = Number(await text(page, '#total'));

  await getMany(`${p.url}/api/x`, 60, 6);
  await getMany(`${p.url}/`, 15, 3);
  await page.waitForFunction((n) => Number(document.getElementById('total')!.textContent) >= n, before + 75, { timeout: 20_000 });
  assert.match(await text(page, '#routes'), /servers\[0\]\.routes\[0\] \/api\//);
  // The live tail, filtered by route.
  await page.waitForFunction(() => document.getElementById('tail')!.textContent!.includes('/api/x'), undefined, { timeout: 20_000 });
  await page.fill('#tail-route', 'routes[1]');
  assert.doesNotMatch(await text(page, '#tail'), /\/api\/x/);
  assert.match(await text(page, '#tail'), /routes\[1\]/);

  // Drain a, by clicking.
  await page.click(`tr[data-upstream="${a.address}"] button[data-action="draining"]`);
  await page.waitForFunction((addr) => /drain/.test(document.querySelector(`tr[data-upstream="${addr}"] .state`)!.textContent!), a.address, { timeout: 20_000 });
  const seenA = a.seen.length;
  const seenB = b.seen.length;
  const statuses = await getMany(`${p.url}/api/after-drain`, 30, 3);
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.equal(a.seen.length, seenA, 'the drained server gets no new request');
  assert.equal(b.seen.length, seenB + 30);
  const change = p.errors.find((e) => e.msg === 'upstream server state changed through the admin API');
  assert.equal(change?.state, 'draining');
  assert.match(String(change?.user_agent), /Chrome/);

  // Enable it again from the page.
  await page.click(`tr[data-upstream="${a.address}"] button[data-action="up"]`);
  await page.waitForFunction((addr) => /available/.test(document.querySelector(`tr[data-upstream="${addr}"] .state`)!.textContent!), a.address, { timeout: 20_000 });
  await getMany(`${p.url}/api/again`, 10, 1);
  assert.ok(a.seen.length > seenA, 'enabled again');
  if (process.env.PORTICO_DASHBOARD_SCREENSHOT) {
    await getMany(`${p.url}/api/shot`, 40, 4);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: process.env.PORTICO_DASHBOARD_SCREENSHOT, fullPage: true });
  }
  assert.deepEqual(errors, []);
});

test('request text in the live tail is shown, never run', async (t) => {
  const p = await startAdminPortico({ servers: [{ routes: [{ path: '/', respond: { status: 404 } }] }] });
  t.after(() => p.close());
  const browser = await launch(t);
  const page = await browser.newPage();
  await page.goto(`http://${p.admin}/`);
  await page.waitForSelector('#live.on', { timeout: 20_000 });
  const payload = '/"><img/src=x/onerror=document.title="pwned">';
  const r = await rawRequest(p.port, `GET ${payload} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal(r.status, 404);
  await page.waitForFunction(() => document.getElementById('tail')!.textContent!.includes('onerror'), undefined, { timeout: 20_000 });
  assert.equal(await page.title(), 'Portico');
  assert.equal(await page.locator('#tail img').count(), 0);
});

test('1,000 routes and 100 upstream servers: the page renders and stays responsive', async (t) => {
  const ups: TestUpstream[] = [];
  for (let i = 0; i < 100; i++) ups.push(await startUpstream());
  t.after(() => Promise.all(ups.map((u) => u.close())));
  const upstreams: Record<string, { servers: string[] }> = {};
  for (let g = 0; g < 10; g++) upstreams[`pool${g}`] = { servers: ups.slice(g * 10, g * 10 + 10).map((u) => u.address) };
  const routes = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? { path: `/r${i}/`, proxy: { to: `pool${i % 10}` } } : { path: `/r${i}/`, respond: { status: 200, body: 'ok' } }));
  const p = await startAdminPortico({ upstreams, servers: [{ routes }] });
  t.after(() => p.close());
  // Traffic on every route, so each has a row.
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < 1000) {
        const i = next++;
        const r = await fetch(`${p.url}/r${i}/x`);
        await r.arrayBuffer();
      }
    }),
  );
  const browser = await launch(t);
  const page = await browser.newPage();
  const started = Date.now();
  await page.goto(`http://${p.admin}/`);
  await page.waitForFunction(() => document.querySelectorAll('#upstreams tr').length === 100 && document.querySelectorAll('#routes tr').length === 50, undefined, { timeout: 60_000 });
  const firstRender = Date.now() - started;
  // Counts are per process: this file's earlier tests add their routes.
  assert.ok(Number(/\((\d+) with traffic/.exec(await text(page, '#route-count'))![1]) >= 1000);
  // One snapshot's redraw, measured in the page.
  const redraw = await page.evaluate(() => {
    const w = window as unknown as { render: (s: unknown) => void; last: unknown };
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) w.render(w.last);
    return (performance.now() - t0) / 5;
  });
  // Typing in the filter: the table follows.
  const t1 = Date.now();
  await page.fill('#route-filter', 'routes[777]');
  await page.waitForFunction(() => document.querySelectorAll('#routes tr').length === 1);
  const filter = Date.now() - t1;
  assert.match(await text(page, '#routes'), /\/r777\//);
  const bytes = await page.evaluate(() => JSON.stringify((window as unknown as { last: unknown }).last).length);
  t.diagnostic(`1000 routes, 100 servers: first full render ${firstRender} ms after navigation; one redraw ${redraw.toFixed(1)} ms; filter ${filter} ms; snapshot ${bytes} bytes`);
});
