/**
 * Issue 12, item 13: random truncations and mutations of the golden configs
 * (test/adapters/nginx/*.txt, test/adapters/caddyfile/*.txt) run through the adapters and the
 * config validator in-process. Each case must end in a config or a ConfigError whose every
 * problem names file:line - never another exception (a TypeError deep in an emitter, a stack
 * overflow). Fixed seed and count, so a failure is reproducible: the case number and its input
 * are printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { adaptNginx } from '../../src/config/adapters/nginx/index.js';
import { adaptCaddyfile } from '../../src/config/adapters/caddyfile/index.js';
import { parseConfigText, validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const ROOT = fileURLToPath(new URL('../../../test/adapters/', import.meta.url));
const SEPARATOR = /^-{10,}$/m;
// Fixed by default; PORTICO_FUZZ_CASES / PORTICO_FUZZ_SEED explore further by hand.
const CASES = Number(process.env.PORTICO_FUZZ_CASES ?? 2000);
const SEED = Number(process.env.PORTICO_FUZZ_SEED ?? 0x5eed);

/** xorshift32: the same sequence on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function inputs(dir: string): string[] {
  return readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => readFileSync(join(ROOT, dir, f), 'utf8').split(SEPARATOR)[0]!);
}

/** Caddy's own adapter tests (test/adapters/caddyfile/upstream/). */
function upstreamCaddyfiles(): string[] {
  const dir = join(ROOT, 'caddyfile', 'upstream');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.caddyfile'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** Pieces worth splicing in: the syntax each format reads specially. */
const NGINX_BITS = ['{', '}', ';', '"', "'", '\\', '$', '${', '#', '\n', ' ', 'location ~ (', 'if (', 'include x;', 'map $a $b {', '}}', 'server {', '$1', '=', '^~', 'limit_except GET {', 'return 444;', 'proxy_pass http://', ':', '[', '*'];
const CADDY_BITS = ['{', '}', '"', '`', '\\', '#', '\n', ' ', '@m', '@m {', 'import ', '(snip)', '{args[0]}', '<<EOF\n', 'EOF', '{$X:', '}', 'handle {', 'route {', 'not ', '*', '/', 'respond 403', 'reverse_proxy', ':8080', ',',
  // issue 18 item 6: matchers, continuation, import blocks, binds
  ' \\\n', '{block}', '{blocks.a}', '{args[:]}', '{args[1:]}', 'import snip {\n', 'expression ', '`{path}.startsWith("/a") && method("GET")`', "header({'X': 'y'}) || !(", 'header_regexp X ^(a+)+$', 'header !X', 'query a=1', 'vars {header.x} y', 'method GET', 'host *.a.test', 'protocol https', 'handle_path /a', 'bind tcp6/[::]', 'wss://a.test', 'transport http {\n tls\n}'];
const YAML_BITS = ['{', '}', '[', ']', ':', '- ', '&a ', '*a', '"', "'", '#', '\n', '  ', 'servers:', 'routes:', 'path: ', 'proxy: {to: "127.0.0.1:1"}', 'null', '~', '!!', '? '];

function mutate(text: string, bits: readonly string[], seeds: readonly string[], r: () => number): string {
  const at = () => Math.floor(r() * (text.length + 1));
  const kind = Math.floor(r() * 7);
  switch (kind) {
    case 0: // truncate
      return text.slice(0, at());
    case 1: {
      // delete a span
      const a = at();
      return text.slice(0, a) + text.slice(a + Math.floor(r() * 40));
    }
    case 2: {
      // insert syntax
      const a = at();
      return text.slice(0, a) + bits[Math.floor(r() * bits.length)] + text.slice(a);
    }
    case 3: {
      // duplicate a span elsewhere
      const a = at();
      const span = text.slice(a, a + Math.floor(r() * 80));
      const b = at();
      return text.slice(0, b) + span + text.slice(b);
    }
    case 6: {
      // a piece of another seed
      const other = seeds[Math.floor(r() * seeds.length)]!;
      const a = Math.floor(r() * other.length);
      const b = at();
      return text.slice(0, b) + other.slice(a, a + Math.floor(r() * 200)) + text.slice(b);
    }
    case 4: {
      // replace one character with a random byte
      const a = at();
      return text.slice(0, a) + String.fromCharCode(Math.floor(r() * 128)) + text.slice(a + 1);
    }
    default: {
      // several of the above
      let t = text;
      for (let i = 0; i < 3; i++) t = mutate(t, bits, seeds, r);
      return t;
    }
  }
}

/** Runs one adapter; returns undefined, or what went wrong. */
function check(run: () => unknown, file: string): string | undefined {
  try {
    const out = run();
    if (out && typeof out === 'object' && 'config' in out) validateConfig((out as { config: unknown }).config, file);
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigError)) return `threw ${(err as Error).stack ?? String(err)}`;
    // "FILE:LINE[:COL]: ..." (FILE may be an included one), or the summary of a long list.
    const lineless = err.problems.find((p) => !/^[^\n]+?:\d+(:\d+)?: /.test(p) && !/^\.\.\. and \d+ more/.test(p));
    if (lineless !== undefined) return `a problem without file:line: ${lineless}`;
    // A Caddyfile's problems name its lines, never a key path into the adapted config.
    const keyed = file === 'Caddyfile' ? err.problems.find((p) => /^Caddyfile(:\d+){0,2}: (servers|client|upstreams|maps|acme|access_log|log_level|shutdown_timeout|data_dir)(\.[\w$-]+|\[\d+\])*: /.test(p)) : undefined;
    if (keyed !== undefined) return `a key path in a Caddyfile problem: ${keyed}`;
    return undefined;
  }
}

const FORMATS = [
  { name: 'nginx', file: 'nginx.conf', seeds: () => inputs('nginx'), bits: NGINX_BITS, run: (text: string) => adaptNginx(text, 'nginx.conf', { prefix: '/srv/nginx' }) },
  { name: 'Caddyfile', file: 'Caddyfile', seeds: () => [...inputs('caddyfile'), ...upstreamCaddyfiles()], bits: CADDY_BITS, run: (text: string) => adaptCaddyfile(text, 'Caddyfile', {}) },
  {
    name: 'YAML',
    file: 'portico.yaml',
    seeds: () => [
      'servers:\n  - listen: [":8080"]\n    routes:\n      - path: /\n        proxy: {to: "127.0.0.1:8000"}\n      - path: ~ ^/x/(.*)$\n        respond: {status: 403}\n        access: [{deny: all}]\n',
      'client:\n  max_body_size: 1m\nmaps:\n  m:\n    source: "{host}"\n    values: {a: b}\nservers:\n  - listen: [":80"]\n    hosts: [a.test]\n    routes:\n      - path: /\n        limit_req: {rate: 1r/s, key: "{arg.a}"}\n        files: {root: /srv}\n',
    ],
    bits: YAML_BITS,
    run: (text: string) => parseConfigText(text, 'portico.yaml'),
  },
];

for (const format of FORMATS) {
  test(`${format.name}: ${CASES} mutated configs each end in a config or a located ConfigError`, () => {
    const seeds = format.seeds();
    const r = rng(SEED + format.name.length);
    const failures: string[] = [];
    for (let i = 0; i < CASES && failures.length < 5; i++) {
      const input = mutate(seeds[i % seeds.length]!, format.bits, seeds, r);
      const problem = check(() => format.run(input), format.file);
      if (problem !== undefined) failures.push(`case ${i}: ${problem}\n--- input ---\n${input}\n-------------`);
    }
    assert.deepEqual(failures, []);
  });
}
