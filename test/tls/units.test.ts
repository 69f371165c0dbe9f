// Pure parts of HTTPS: the ACME renewal schedule and the ClientHello reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { RenewalSchedule, RETRY_DELAYS } from '../../src/tls/acme/schedule.js';
import { parseClientHello } from '../../src/tls/client-hello.js';

const DAY = 86_400_000;

test('an ACME certificate is due when missing, and at two thirds of its lifetime', () => {
  const s = new RenewalSchedule();
  const t0 = Date.UTC(2030, 0, 1);
  assert.equal(s.due(undefined, t0), true);
  const cert = { notBefore: new Date(t0), notAfter: new Date(t0 + 90 * DAY) };
  assert.equal(s.due(cert, t0 + 59 * DAY), false);
  assert.equal(s.due(cert, t0 + 60 * DAY), true);
});

test('after failures the next attempt waits 1m, 2m, 5m, ... up to a day, and success resets it', () => {
  const s = new RenewalSchedule();
  let now = 0;
  const delays: number[] = [];
  for (let i = 0; i < RETRY_DELAYS.length + 2; i++) {
    const d = s.failed(now);
    delays.push(d / 60_000);
    assert.equal(s.due(undefined, now + d - 1), false, 'not before the delay');
    now += d;
    assert.equal(s.due(undefined, now), true);
  }
  assert.deepEqual(delays, [1, 2, 5, 10, 20, 30, 60, 120, 360, 720, 1440, 1440, 1440]);
  s.succeeded();
  assert.equal(s.due(undefined, 0), true);
});

test('the ClientHello reader finds SNI and ALPN in what a real TLS client sends', async () => {
  const captured = await new Promise<Buffer>((resolve) => {
    const server = createServer((socket) => {
      socket.once('data', (d) => {
        resolve(d);
        socket.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const c = tlsConnect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'a.example.com', ALPNProtocols: ['acme-tls/1'] });
      c.on('error', () => {});
    });
  });
  assert.deepEqual(parseClientHello(captured), { servername: 'a.example.com', alpn: ['acme-tls/1'] });
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')), undefined);
  assert.equal(parseClientHello(captured.subarray(0, 40)), undefined, 'incomplete');
});
