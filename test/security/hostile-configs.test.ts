/**
 * Issue 12, item 13: hostile configs through the real CLI. Each input runs as `portico check`
 * and `portico adapt` in a child process with a bounded time (killed after TIMEOUT_MS) and a
 * bounded heap (--max-old-space-size; an input that needed more would abort with a signal), and
 * must end in exit 0 or 1 with file:line in stderr, no stack trace ("    at " lines), and no
 * signal. The inputs are made in a temp directory when the test runs (sparse files for the
 * huge ones, so nothing big is written to disk).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';

const TIMEOUT_MS = 60_000;
const HEAP_MB = 512;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** The CLI on one input, killed (by its pid) if it runs past the timeout. */
function cli(args: string[], cwd: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => {
      if (stdout.length < 1_000_000) stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 1_000_000) stderr += c;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

interface Case {
  name: string;
  /** Makes the input in `dir`; returns the path given to -c. */
  make: (dir: string) => Promise<string>;
  /** Expected exit code. */
  code: 0 | 1;
  /** For exit 1: what stderr must say, after "FILE:LINE[:COL]: ". */
  message?: RegExp;
  /** A problem about the main file as a whole (cannot read it): no line to give. */
  wholeFile?: boolean;
  adapter?: string;
}

const nested = (open: string, close: string, n: number) => open.repeat(n) + close.repeat(n);

const CASES: Case[] = [
  {
    name: 'nginx: 5,000 nested blocks',
    make: async (dir) => write(dir, 'nginx.conf', `events {}\nhttp {\n  server {\n    listen 127.0.0.1:8080;\n    ${nested('location /a { ', '} ', 5000)}\n  }\n}\n`),
    code: 1,
    message: /blocks nested more than 100 deep/,
  },
  {
    name: 'nginx: include /dev/zero',
    make: async (dir) => write(dir, 'nginx.conf', 'events {}\nhttp {\n  include /dev/zero;\n}\n'),
    code: 1,
    message: /open\(\) "\/dev\/zero" failed \(not a regular file\)/,
  },
  {
    name: 'nginx: include a FIFO nobody writes to',
    make: async (dir) => {
      assert.equal(spawnSync('mkfifo', [join(dir, 'fifo.conf')]).status, 0, 'mkfifo');
      return write(dir, 'nginx.conf', 'events {}\nhttp {\n  include fifo.conf;\n}\n');
    },
    code: 1,
    message: /fifo\.conf" failed \(not a regular file\)/,
  },
  {
    name: 'nginx: include a directory',
    make: async (dir) => {
      await mkdir(join(dir, 'conf.d'));
      return write(dir, 'nginx.conf', 'events {}\nhttp {\n  include conf.d;\n}\n');
    },
    code: 1,
    message: /conf\.d" failed \(not a regular file\)/,
  },
  {
    name: 'nginx: a file that includes itself',
    make: async (dir) => write(dir, 'nginx.conf', 'events {}\nhttp {\n  include loop.conf;\n}\n', 'loop.conf', 'include loop.conf;\n'),
    code: 1,
    message: /includes nested more than 32 deep/,
  },
  {
    name: 'nginx: 16 files each including the next twice (65,536 includes)',
    make: async (dir) => {
      for (let i = 0; i < 16; i++) await writeFile(join(dir, `f${i}.conf`), `include f${i + 1}.conf;\ninclude f${i + 1}.conf;\n`);
      await writeFile(join(dir, 'f16.conf'), '');
      return write(dir, 'nginx.conf', 'events {}\nhttp {\n  include f0.conf;\n}\n');
    },
    code: 1,
    message: /more than 10000 files included in all/,
  },
  {
    name: 'nginx: an include glob matching 12,000 files',
    make: async (dir) => {
      await mkdir(join(dir, 'many'));
      await Promise.all(Array.from({ length: 12_000 }, (_, i) => writeFile(join(dir, 'many', `s${i}.conf`), '')));
      return write(dir, 'nginx.conf', 'events {}\nhttp {\n  include many/*.conf;\n}\n');
    },
    code: 1,
    message: /"many\/\*\.conf" matches more than 10000 files in all/,
  },
  {
    name: 'nginx: an included file of 17 MiB',
    make: async (dir) => {
      await sparse(join(dir, 'huge.conf'), 17 * 1024 * 1024);
      return write(dir, 'nginx.conf', 'events {}\nhttp {\n  include huge.conf;\n}\n');
    },
    code: 1,
    message: /huge\.conf" failed \(the config and what it includes are larger than 16 MiB\)/,
  },
  {
    name: 'nginx: a glob whose stars would backtrack as a regex',
    make: async (dir) => {
      await mkdir(join(dir, 'g'));
      await writeFile(join(dir, 'g', `${'a'.repeat(200)}b`), '');
      return write(dir, 'nginx.conf', `events {}\nhttp {\n  include g/${'*a'.repeat(30)}c;\n  server { listen 127.0.0.1:8080; }\n}\n`);
    },
    code: 0,
  },
  {
    name: 'nginx: the main file is 17 MiB',
    make: async (dir) => {
      await sparse(join(dir, 'nginx.conf'), 17 * 1024 * 1024);
      return join(dir, 'nginx.conf');
    },
    code: 1,
    message: /cannot read config: the config and what it includes are larger than 16 MiB/,
    wholeFile: true,
  },
  {
    name: 'the main file is /dev/zero',
    make: async () => '/dev/zero',
    code: 1,
    message: /cannot read config: not a regular file/,
    wholeFile: true,
    adapter: 'nginx',
  },
  {
    name: 'Caddyfile: 5,000 nested blocks',
    make: async (dir) => write(dir, 'Caddyfile', `:8080 {\n${'route {\n'.repeat(5000)}respond "x"\n${'}\n'.repeat(5000)}}\n`),
    code: 1,
    message: /blocks nested more than 100 deep/,
  },
  {
    name: 'Caddyfile: a global options block after the first site',
    make: async (dir) => write(dir, 'Caddyfile', ':8080 {\n  respond "x"\n}\n{\n  debug\n}\n'),
    code: 1,
    message: /server block without any key is global configuration, and if used, it must be first/,
  },
  {
    name: 'Caddyfile: a 100,000-character heredoc marker, never closed',
    make: async (dir) => write(dir, 'Caddyfile', `:8080 {\n  respond <<${'A'.repeat(100_000)}\n  hello\n}\n`),
    code: 1,
    message: /heredoc marker "A{40}\.\.\." is never closed/,
  },
  {
    name: 'Caddyfile: a 100,000-character heredoc marker, closed',
    make: async (dir) => write(dir, 'Caddyfile', `:8080 {\n  respond <<${'A'.repeat(100_000)}\n  hello\n  ${'A'.repeat(100_000)}\n}\n`),
    code: 0,
  },
  {
    // As in Caddy, the first default runs to the next "}" (the site's own): an unclosed site.
    name: 'Caddyfile: 200,000 {$ENV: placeholders without their "}"',
    make: async (dir) => write(dir, 'Caddyfile', `:8080 {\n  respond "${'{$X:'.repeat(200_000)}"\n}\n`),
    code: 1,
    message: /unclosed "\{"/,
  },
  {
    name: 'Caddyfile: a file that imports itself',
    make: async (dir) => write(dir, 'Caddyfile', ':8080 {\n  import self.caddy\n}\n', 'self.caddy', 'import self.caddy\n'),
    code: 1,
    message: /imports nested too deep/,
  },
  {
    name: 'Caddyfile: snippets importing the one before ten times (10^8 directives)',
    make: async (dir) => {
      let text = '(s0) {\n  header X-A b\n}\n';
      for (let i = 1; i <= 8; i++) text += `(s${i}) {\n${`  import s${i - 1}\n`.repeat(10)}}\n`;
      return write(dir, 'Caddyfile', `${text}:8080 {\n  import s8\n  respond "x"\n}\n`);
    },
    code: 1,
    message: /more than 10000 (imports|directives)/,
  },
  {
    name: 'Caddyfile: import /dev/zero',
    make: async (dir) => write(dir, 'Caddyfile', ':8080 {\n  import /dev/zero\n}\n'),
    code: 1,
    message: /import: \/dev\/zero: not a regular file/,
  },
  {
    name: 'YAML: a billion laughs',
    make: async (dir) => {
      const lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]'];
      for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]`);
      return write(dir, 'portico.yaml', `${lines.join('\n')}\nservers: *a11\n`);
    },
    code: 1,
    message: /aliases expand to more than 100 nodes/,
  },
  {
    name: 'YAML: 100,000 nested flow sequences',
    make: async (dir) => write(dir, 'portico.yaml', `servers: ${nested('[', ']', 100_000)}\n`),
    code: 1,
    message: /nested more than 100 deep/,
  },
  {
    name: 'YAML: 3,000 mappings nested by indentation',
    make: async (dir) => write(dir, 'portico.yaml', Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + '\n'),
    code: 1,
    message: /nested more than|expected/,
  },
  {
    name: 'YAML: a map of 150,000 keys with a duplicate at the end',
    make: async (dir) => {
      const keys = Array.from({ length: 150_000 }, (_, i) => `      /p${i}: /q${i}`);
      keys.push('      /p0: /again');
      return write(dir, 'portico.yaml', `maps:\n  big:\n    source: "{path}"\n    values:\n${keys.join('\n')}\nservers: []\n`);
    },
    code: 1,
    message: /Map keys must be unique/,
  },
  {
    name: 'YAML: a 100 MB file',
    make: async (dir) => {
      await sparse(join(dir, 'portico.yaml'), 100 * 1000 * 1000);
      return join(dir, 'portico.yaml');
    },
    code: 1,
    message: /cannot read config: the config and what it includes are larger than 16 MiB/,
    wholeFile: true,
  },
];

async function write(dir: string, name: string, text: string, ...more: string[]): Promise<string> {
  await writeFile(join(dir, name), text);
  for (let i = 0; i < more.length; i += 2) await writeFile(join(dir, more[i]!), more[i + 1]!);
  return join(dir, name);
}

/** A file of `size` bytes that takes no disk space (all zeros, a hole). */
async function sparse(path: string, size: number): Promise<void> {
  await writeFile(path, '');
  await truncate(path, size);
}

for (const c of CASES) {
  test(`hostile config: ${c.name}: check and adapt exit ${c.code} with file:line, no stack trace`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'portico-hostile-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = await c.make(dir);
    for (const command of ['check', 'adapt']) {
      const r = await cli([command, '-c', file, ...(c.adapter ? ['--adapter', c.adapter] : [])], dir);
      const what = `${command}: exit ${r.code} signal ${r.signal}${r.timedOut ? ' (killed after the timeout)' : ''}\n${r.stderr.slice(0, 2000)}`;
      assert.equal(r.timedOut, false, what);
      assert.equal(r.signal, null, what);
      assert.equal(r.code, c.code, what);
      assert.doesNotMatch(r.stderr + r.stdout, /^\s+at /m, `${command}: a stack trace\n${what}`);
      if (c.code === 1) {
        const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        const located = c.wholeFile ? `^${esc}: ` : `^[^\\n]+:\\d+(:\\d+)?: `;
        const line = r.stderr.split('\n').find((l) => c.message!.test(l));
        assert.ok(line, `${command}: expected ${c.message}\n${what}`);
        assert.match(line, new RegExp(located), `${command}: file:line`);
        assert.ok(r.stderr.split('\n').filter((l) => l !== '').length <= 101, `${command}: at most 100 problems listed`);
      }
    }
  });
}
