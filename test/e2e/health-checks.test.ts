/**
 * Active health checks against real gunicorn (sync workers, `--log-level debug`, which logs the
 * write errors it otherwise drops): after a number of checks of a 1 MiB page written in 16
 * pieces, gunicorn has logged no broken pipe and no connection reset, with GET (the body is read
 * to its end, not hung up on after the head) and with HEAD (gunicorn 20 writes the body anyway;
 * it is read until gunicorn closes). Counted in gunicorn's own access log; bounded waits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGunicorn } from '../helpers/gunicorn.js';
import { startPortico } from '../helpers/portico.js';
import { eventually } from '../proxy/support.js';

const CHECKS = 8;
const BROKEN = /Ignoring EPIPE|Ignoring connection reset|Broken pipe|Connection reset|Error processing request/i;

for (const method of ['GET', 'HEAD'] as const) {
  test(`health checks (${method} of a 1 MiB page in pieces) leave no broken pipe in gunicorn's log after ${CHECKS} checks`, async (t) => {
    const gunicorn = await startGunicorn(1, 20_000, ['--log-level', 'debug']);
    t.after(() => gunicorn.close());
    const portico = await startPortico({
      upstreams: {
        app: { servers: [gunicorn.address], health_check: { method, path: '/stream', interval: '100ms', timeout: '5s' } },
      },
      servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }],
    });
    t.after(() => portico.close());
    // A check gunicorn finished is an access-log line; one it gave up on, a write error instead.
    const done = () => gunicorn.output().split('\n').filter((l) => l.includes(`"${method} /stream HTTP/1.1" 200`) || BROKEN.test(l)).length;
    await eventually(() => done() >= CHECKS, `${CHECKS} ${method} checks in gunicorn's log`, 30_000);
    await portico.close();
    // A reset is logged after the response is written: give the last one its moment.
    await new Promise((r) => setTimeout(r, 300));
    const broken = gunicorn.output().split('\n').filter((l) => BROKEN.test(l));
    assert.deepEqual(broken, [], `gunicorn logged write errors after ${done()} checks`);
    assert.ok(!portico.errors.some((e) => /unhealthy/.test(String(e.msg))), 'the server stayed healthy');
  });
}
