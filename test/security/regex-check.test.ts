// `portico check` on regexes that can backtrack (issue 12, item 6): one that the linear-time
// engine cannot take over (a lookaround, with a nested quantifier) refuses the config at its
// file:line; one that it can take over passes, with a warning naming the pattern and its line.
// The same in a portico.yaml and in an nginx.conf (where the adapter names the directive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

async function tempConfig(t: { after: (fn: () => Promise<void>) => void }, name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-regex-check-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

const yaml = (path: string) => `servers:
  - listen: ["127.0.0.1:0"]
    routes:
      - path: "/"
        respond: { body: "ok" }
      - path: '${path}'
        respond: { body: "api" }
`;

test('check refuses a lookaround pattern with a nested quantifier, at file:line (portico.yaml)', async (t) => {
  const file = await tempConfig(t, 'portico.yaml', yaml('~ ^/api/(?=\\w)(\\w+-?)+/$'));
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /portico\.yaml:6:15: servers\[0\]\.routes\[1\]\.path: the regular expression could take exponential time on a crafted request/);
  assert.match(r.stderr, /`\(\\w\+-\?\)\+` can match the same text in many ways/);
  assert.match(r.stderr, /the linear-time engine cannot run it \(it has a lookaround\)/);
});

test('check passes a backtracking pattern the linear engine runs, and warns at file:line (portico.yaml)', async (t) => {
  const file = await tempConfig(t, 'portico.yaml', yaml('~ ^/api/(\\w+-?)+/$'));
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configuration is valid/);
  assert.match(
    r.stderr,
    /^warning: .*portico\.yaml:6:15: servers\[0\]\.routes\[1\]\.path: location "~ \^\/api\/\(\\w\+-\?\)\+\/\$" could take exponential time .*linear-time engine/m,
  );
});

test('check: a pattern that cannot backtrack passes without a warning', async (t) => {
  const file = await tempConfig(t, 'portico.yaml', yaml('~* \\.(jpg|png)$'));
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
});

const nginx = (regex: string) => `events {}
http {
  server {
    listen 127.0.0.1:8080;
    location / { return 200 ok; }
    location ~ ${regex} { return 200 api; }
  }
}
`;

test('check refuses it in an nginx.conf too, at the location directive', async (t) => {
  const file = await tempConfig(t, 'nginx.conf', nginx('^/api/(?=\\w)(\\w+-?)+/$'));
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /nginx\.conf:6:\d+: regular expression "\^\/api\/\(\?=\\w\)\(\\w\+-\?\)\+\/\$" cannot be used: the regular expression could take exponential time/);
});

test('check warns in an nginx.conf too, at the location directive', async (t) => {
  const file = await tempConfig(t, 'nginx.conf', nginx('^/api/(\\w+-?)+/$'));
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: .*nginx\.conf:6:\d+: location "\^\/api\/\(\\w\+-\?\)\+\/\$" could take exponential time/m);
});

const caddyfile = (regex: string) => `:8080 {
\t@api path_regexp ${regex}
\trespond @api "api"
\trespond "ok"
}
`;

test('check refuses and warns in a Caddyfile too, at the path_regexp line', async (t) => {
  const bad = await runCli(['check', '-c', await tempConfig(t, 'Caddyfile', caddyfile('^/x/(?=\\w)(\\w+-?)+/$'))]);
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(bad.stderr, /Caddyfile:2: path_regexp "\^\/x\/\(\?=\\w\)\(\\w\+-\?\)\+\/\$": the regular expression could take exponential time/);
  const warned = await runCli(['check', '-c', await tempConfig(t, 'Caddyfile', caddyfile('^/api/(\\w+-?)+/$'))]);
  assert.equal(warned.code, 0, warned.stderr);
  assert.match(warned.stderr, /^warning: .*Caddyfile:2: path_regexp "\^\/api\/\(\\w\+-\?\)\+\/\$" could take exponential time/m);
});
