/**
 * `listen ... ssl` with certificate files, side by side: the same nginx.conf (one server with a
 * plain and an HTTPS address, certificates from a throwaway CA) in nginx and in Portico. Over
 * HTTPS both answer with that certificate, `$scheme` is https for the upstream, and the plain
 * address of the same server still answers plain HTTP; nothing redirects on its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { createTestCa, h1Request, handshake } from '../helpers/tls.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { rawRequest } from '../proxy/support.js';

const CONF = (plain: number, secure: number, up: number) => `events {}
http {
    include temp_paths.conf;
    server {
        listen 127.0.0.1:${plain};
        listen 127.0.0.1:${secure} ssl http2;
        server_name localhost;
        ssl_certificate tls/site.crt;
        ssl_certificate_key tls/site.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Scheme $scheme;
            proxy_pass http://127.0.0.1:${up};
        }
    }
}
`;

test('nginx listen ssl + ssl_certificate: HTTPS in both, same certificate, $scheme https upstream', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const upstream = await startUpstream((req, res) => res.end(JSON.stringify({ url: req.url, scheme: req.headers['x-scheme'], proto: req.headers['x-forwarded-proto'], host: req.headers.host })));
  t.after(() => upstream.close());
  const ca = await createTestCa();
  const pair = await ca.issue(['localhost']);
  const ports = { nginx: [await freePort(), await freePort()], portico: [await freePort(), await freePort()] };
  const files = (p: number[]) => ({ 'nginx.conf': CONF(p[0]!, p[1]!, upstream.port), 'temp_paths.conf': TEMP_PATHS, 'tls/site.crt': pair.cert, 'tls/site.key': pair.key });
  const nginxPrefix = await makePrefix(files(ports.nginx));
  const porticoPrefix = await makePrefix(files(ports.portico));
  t.after(() => Promise.all([nginxPrefix.remove(), porticoPrefix.remove()]));
  const nginx = await startNginx(nginxPrefix, ports.nginx[1]!);
  t.after(() => nginx.close());
  const loaded = await loadConfigFile(porticoPrefix.conf, { nginxPrefix: porticoPrefix.dir });
  assert.deepEqual(loaded.warnings, []);
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());

  for (const [name, [plainPort, securePort]] of Object.entries(ports) as [string, number[]][]) {
    const hs = await handshake(securePort!, { ca: ca.pem, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(hs.authorized, true, `${name}: the certificate verifies`);
    assert.equal(hs.alpn, 'h2', `${name}: HTTP/2 is offered`);
    const secure = await h1Request(securePort!, ca.pem, { path: '/x?y=1' });
    assert.equal(secure.status, 200, name);
    assert.deepEqual(JSON.parse(secure.body), { url: '/x?y=1', scheme: 'https', proto: 'https', host: 'localhost' }, name);
    const plain = await rawRequest(plainPort!, 'GET /p HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.equal(plain.status, 200, `${name}: the plain address of the same server`);
    assert.deepEqual(JSON.parse(plain.body.toString()), { url: '/p', scheme: 'http', proto: 'http', host: 'localhost' }, name);
  }
});

test('listen ssl without ssl_certificate is an error, as in nginx -t', async (t) => {
  const prefix = await makePrefix({ 'nginx.conf': 'events {}\nhttp {\n    server {\n        listen 8443 ssl;\n        location / { return 204; }\n    }\n}\n' });
  t.after(() => prefix.remove());
  await assert.rejects(loadConfigFile(prefix.conf), (err: Error) => /nginx\.conf:4:9: no "ssl_certificate" is defined for the "listen \.\.\. ssl" directive/.test(err.message));
});
