/**
 * contrib/portico.service. systemd need not be running (containers have none as PID 1):
 * `systemd-analyze verify` reads a unit file offline and says what it would not accept (it
 * exits 0 on unknown keys and bad values, printing them: the output must be empty), and
 * `systemd-analyze security --offline` rates its sandbox. What the unit grants is then done
 * for real without systemd: its ExecStart, as an unprivileged user holding nothing but
 * CAP_NET_BIND_SERVICE (setpriv, as AmbientCapabilities= gives it), binds a port below 1024,
 * serves HTTPS from a data dir of its own, reloads on ExecReload's SIGHUP and stops on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, killAfter, servingPid } from '../helpers/cli.js';
import { tempDir } from '../helpers/tls.js';
import { eventually } from '../proxy/support.js';

const UNIT = fileURLToPath(new URL('../../../contrib/portico.service', import.meta.url));
const INSTALLED = '/usr/local/bin/portico';

/** Key -> values, [Service] and [Unit] alike (repeated keys accumulate). */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

test('the unit: unprivileged user, CAP_NET_BIND_SERVICE only, reload by SIGHUP, a read-only system but the data dir', async () => {
  const unit = parseUnit(await readFile(UNIT, 'utf8'));
  const one = (k: string) => unit.get(k)?.at(-1);
  assert.ok(one('User') && one('User') !== 'root', 'runs as a user other than root');
  assert.equal(one('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
  assert.equal(one('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('ProtectSystem'), 'strict');
  const dataDir = /^PORTICO_DATA_DIR=(.+)$/.exec(one('Environment') ?? '')?.[1];
  assert.equal(dataDir, '/var/lib/portico');
  assert.equal(one('ReadWritePaths'), dataDir, 'the data dir is writable');
  assert.equal(one('StateDirectory'), 'portico', 'and created for the user');
  assert.match(one('ExecStart')!, new RegExp(`^${INSTALLED} run -c `));
});

test('systemd-analyze verify finds nothing to say about the unit; its sandbox rates OK', async (t) => {
  const dir = await tempDir(t);
  // verify checks that ExecStart's program exists: the CLI of this build stands in for the installed one.
  const text = (await readFile(UNIT, 'utf8')).replaceAll(INSTALLED, `${process.execPath} ${CLI}`);
  const unit = join(dir, 'portico.service');
  await writeFile(unit, text);
  const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(verify.error, undefined, 'systemd-analyze is installed (Debian package systemd; scripts/ensure-test-deps.sh)');
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(verify.stdout + verify.stderr, '', 'no warning');
  const security = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
  assert.equal(security.status, 0, security.stderr);
  assert.match(security.stdout, /Overall exposure level for portico\.service: \d+\.\d+ OK/);
});

/** A port below 1024 nothing listens on now. */
async function freeLowPort(): Promise<number> {
  for (let port = 1000; port > 600; port--) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port below 1024');
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, servername: 'localhost', rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

test("what the unit grants, for real: its ExecStart as nobody with only CAP_NET_BIND_SERVICE binds a port below 1024, serves HTTPS, reloads on SIGHUP, stops on SIGTERM", { skip: process.getuid?.() !== 0 ? 'needs root to take on another user, as systemd does' : false }, async (t) => {
  const dir = await tempDir(t);
  await chmod(dir, 0o755);
  const data = join(dir, 'state'); // StateDirectory=: made by systemd, the user's, 0700
  await mkdir(data, { mode: 0o700 });
  await chown(data, 65534, 65534);
  const port = await freeLowPort();
  const config = join(dir, 'portico.yaml');
  const body = (text: string) => `servers:\n  - listen: "127.0.0.1:${port}"\n    tls: internal\n    routes:\n      - path: /\n        respond: { body: "${text}\\n" }\n`;
  await writeFile(config, body('first'));
  const exec = parseUnit(await readFile(UNIT, 'utf8')).get('ExecStart')!.at(-1)!.replace(INSTALLED, '').trim().split(/\s+/);
  const args = exec.map((a) => (a === '/etc/portico/portico.yaml' ? config : a));
  const child = spawn(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all,+net_bind_service', '--ambient-caps=-all,+net_bind_service', '--bounding-set=-all,+net_bind_service', '--no-new-privs', process.execPath, CLI, ...args],
    { cwd: dir, env: { ...process.env, HOME: data, PORTICO_DATA_DIR: data }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  killAfter(t, () => [child.pid!]);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  await eventually(() => /serving https:/.test(stderr) || child.exitCode !== null, 'portico to start', 20_000);
  assert.match(stderr, new RegExp(`serving https://localhost:${port}/`), stderr);
  assert.equal(await get(port, '/'), 'first\n');

  const status = await readFile(`/proc/${servingPid(child.pid!)}/status`, 'utf8');
  assert.match(status, /^Uid:\t65534\t65534\t65534\t65534$/m);
  assert.match(status, /^CapEff:\t0000000000000400$/m, 'CAP_NET_BIND_SERVICE (bit 10) and nothing else');
  assert.match(status, /^NoNewPrivs:\t1$/m);

  await writeFile(config, body('reloaded'));
  child.kill('SIGHUP'); // ExecReload
  await eventually(() => /config reloaded/.test(stderr), 'the reload', 10_000);
  assert.equal(await get(port, '/'), 'reloaded\n');
  child.kill('SIGTERM'); // systemctl stop
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, stderr);
});
