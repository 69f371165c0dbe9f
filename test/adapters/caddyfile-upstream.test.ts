/**
 * Caddy's own Caddyfile adapter tests (test/adapters/caddyfile/upstream/, see NOTICE.md there)
 * through Portico's adapter. For each: does it adapt, validate and compile (when Caddy accepts
 * it), or is it refused (when Caddy refuses it), and nothing may throw anything but a
 * ConfigError naming the Caddyfile line. The outcome of every file is pinned below, so a change
 * shows up here; the figures are in docs/adapters.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { adaptCaddyfile } from '../../src/config/adapters/caddyfile/index.js';
import { validateConfig } from '../../src/config/load.js';
import { compile } from '../../src/compile/compile.js';
import { silentLog } from '../../src/log/error-log.js';
import { ConfigError } from '../../src/errors.js';

const DIR = fileURLToPath(new URL('../../../test/adapters/caddyfile/upstream/', import.meta.url));

type Outcome = 'adapts' | 'refused';

/** What Portico does with each file; `caddy` is what `caddy adapt` does (the file's third line). */
function runUpstream(name: string): { caddy: Outcome; portico: Outcome; problems: string[]; warnings: string[] } {
  const text = readFileSync(join(DIR, name), 'utf8');
  const caddy: Outcome = /^# caddy adapt: ok$/m.test(text) ? 'adapts' : 'refused';
  try {
    const r = adaptCaddyfile(text, 'Caddyfile', {});
    const config = validateConfig(r.config, 'Caddyfile');
    compile(config, { log: silentLog() }, 'Caddyfile').pools.destroy();
    return { caddy, portico: 'adapts', problems: [], warnings: r.warnings };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { caddy, portico: 'refused', problems: [...err.problems], warnings: [] };
  }
}

/** Files Caddy accepts and Portico refuses, each with the reason (a limit it cannot apply, or a feature it lacks). */
const REFUSED: Record<string, RegExp> = {
  'bind_fd_fdgram_h123.caddyfile': /bind fd\/\{env\.CADDY_HTTP_FD\}: Portico listens on TCP addresses only/,
  'expression_quotes.caddyfile': /Portico has no placeholder \{http\.error\.status_code\}.*cannot be carried over/,
  'file_server_hide_repeated.caddyfile': /file_server hide first\.txt cannot be carried over/,
  'forward_auth_authelia.caddyfile': /forward_auth cannot be carried over/,
  'sort_directives_within_handle.caddyfile': /Portico cannot get a certificate for a wildcard name/,
  'wildcard_pattern.caddyfile': /Portico cannot get a certificate for a wildcard name/,
};

/** Files Caddy refuses and Portico accepts. */
const ACCEPTED: string[] = [];

const files = readdirSync(DIR).filter((f) => f.endsWith('.caddyfile')).sort();

for (const name of files) {
  test(`Caddy's adapter test ${name}`, () => {
    const r = runUpstream(name);
    // Every problem names the Caddyfile and a line, never a key path of the adapted config.
    for (const p of r.problems) assert.match(p, /^Caddyfile:\d+: (?![\w.[\]]+\[\d+\][\w.[\]]*: )/, p);
    for (const w of r.warnings) assert.match(w, /^Caddyfile:\d+: /, w);
    if (r.caddy === 'refused') assert.equal(r.portico, ACCEPTED.includes(name) ? 'adapts' : 'refused', r.warnings.join('\n'));
    else if (REFUSED[name]) assert.match(r.problems.join('\n'), REFUSED[name]!);
    else assert.equal(r.portico, 'adapts', r.problems.join('\n'));
  });
}

test('the counts in docs/adapters.md', () => {
  const all = files.map(runUpstream);
  const caddyOk = all.filter((r) => r.caddy === 'adapts');
  assert.equal(files.length, 45);
  assert.equal(caddyOk.length, 37);
  assert.equal(caddyOk.filter((r) => r.portico === 'adapts').length, 37 - Object.keys(REFUSED).length);
  assert.equal(all.filter((r) => r.caddy === 'refused' && r.portico === 'refused').length, 8 - ACCEPTED.length);
});
