/**
 * htpasswd formats besides bcrypt (issue 18): MD5-crypt ($1$, Apache's $apr1$), SHA-crypt ($5$,
 * $6$, with rounds), {SHA}, {SSHA}, {PLAIN}. The hashes are made by `openssl passwd` (and known
 * test vectors of the SHA-crypt specification); the same htpasswd file is then used by a real
 * nginx and by Portico (through the nginx adapter), and each user with the right and a wrong
 * password gets the same answer from both. Broken lines let nobody in, in both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { checkPassword, hashScheme } from '../../src/shield/password-hash.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { rawRequest } from '../proxy/support.js';

const openssl = (...args: string[]) => execFileSync('openssl', ['passwd', ...args], { encoding: 'utf8' }).trim();

test('crypt formats: known vectors and openssl passwd', () => {
  // The SHA-crypt specification's own examples (https://www.akkadia.org/drepper/SHA-crypt.txt).
  assert.equal(checkPassword('Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'), true);
  assert.equal(checkPassword('Hello world!', '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'), true);
  for (const [flag, password] of [['-1', 'password'], ['-apr1', 'pass word'], ['-5', 'secret'], ['-6', 'x']] as const) {
    const hash = openssl(flag, '-salt', 'abcdefgh', password);
    assert.equal(checkPassword(password, hash), true, hash);
    assert.equal(checkPassword(password + '!', hash), false, hash);
  }
  const rounds = openssl('-5', '-salt', 'rounds=1000$salty', 'pw');
  assert.equal(checkPassword('pw', rounds), true, rounds);
  assert.equal(checkPassword('password', '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='), true);
  assert.equal(checkPassword('password', '{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhRzYWx0'), true);
  assert.equal(checkPassword('password', '{PLAIN}password'), true);
  assert.equal(checkPassword('Password', '{PLAIN}password'), false);
  // Broken entries match nothing.
  for (const broken of ['$1$', '$apr1$', '{SSHA}Zm9vCg==', '{SHA}_____Mm5Pz8GgiULbPgzG37mj9g=', 'sa3tHJ3/KuYvI']) {
    assert.equal(hashScheme(broken), undefined, broken);
    assert.equal(checkPassword('password', broken), false, broken);
  }
});

test('htpasswd formats: nginx and Portico let in the same users', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const users: [string, string, string][] = [
    ['md5', openssl('-1', '-salt', 'salt', 'one'), 'one'],
    ['apr1', openssl('-apr1', '-salt', 'salt', 'two'), 'two'],
    ['sha256', openssl('-5', '-salt', 'saltsalt', 'three'), 'three'],
    ['sha512', openssl('-6', '-salt', 'saltsalt', 'four'), 'four'],
    ['sha1', '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'password'],
    ['ssha', '{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhRzYWx0', 'password'],
    ['plain', '{PLAIN}five', 'five'],
    ['broken', '$apr1$', ''],
  ];
  const htpasswd = users.map(([u, h]) => `${u}:${h}`).join('\n') + '\n';
  const conf = (port: number) => `events {}
http {
    include temp_paths.conf;
    access_log off;
    server {
        listen 127.0.0.1:${port};
        auth_basic "formats";
        auth_basic_user_file htpasswd;
        location / {
        }
        location /return {
            return 200 "in\\n";
        }
    }
}
`;
  const [nginxPort, porticoPort] = [await freePort(), await freePort()];
  const nginxPrefix = await makePrefix({ 'nginx.conf': conf(nginxPort), 'temp_paths.conf': TEMP_PATHS, htpasswd, 'html/index.html': 'in\n' });
  const porticoPrefix = await makePrefix({ 'nginx.conf': conf(porticoPort), 'temp_paths.conf': TEMP_PATHS, htpasswd, 'html/index.html': 'in\n' });
  t.after(() => Promise.all([nginxPrefix.remove(), porticoPrefix.remove()]));
  const nginx = await startNginx(nginxPrefix, nginxPort);
  t.after(() => nginx.close());
  const loaded = await loadConfigFile(porticoPrefix.conf, { nginxPrefix: porticoPrefix.dir });
  assert.equal(loaded.warnings.length, 1, 'the broken line is warned about');
  assert.match(loaded.warnings[0]!, /line 8 is not a hash Portico checks/);
  // Wrong passwords are counted per address in Portico (nginx has no such limit): off here.
  const portico = await startServer({ ...loaded.config, password_checks: { ...loaded.config.password_checks, max_failures: 0 } }, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());
  const status = async (port: number, user: string, password: string, path = '/') => {
    const auth = Buffer.from(`${user}:${password}`).toString('base64');
    return (await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${auth}\r\nConnection: close\r\n\r\n`)).status;
  };
  for (const [user, , password] of users) {
    for (const [tried, expected] of [[password, user === 'broken' ? 401 : 200], [`${password}x`, 401]] as const) {
      assert.equal(await status(nginxPort, user, tried), expected, `nginx: ${user} with "${tried}"`);
      assert.equal(await status(porticoPort, user, tried), expected, `Portico: ${user} with "${tried}"`);
    }
  }
  // A deliberate difference (docs/differences.md): nginx answers a `return` in its rewrite phase,
  // before its access phase checks the password; Portico checks first.
  assert.equal(await status(nginxPort, 'md5', 'wrong', '/return'), 200, 'nginx: return before auth_basic');
  assert.equal(await status(porticoPort, 'md5', 'wrong', '/return'), 401, 'Portico: auth_basic before return');
});
