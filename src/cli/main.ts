#!/usr/bin/env node
/**
 * `portico` command line: parses flags and calls the programmatic API. Exit codes and error
 * printing are decided here and nowhere else: 0 ok, 1 bad config or failed start, 2 bad usage.
 */
// First: from here on SIGUSR1 reopens logs instead of opening node's inspector (server/reopen-signal.ts).
import '../server/reopen-signal.js';
// First: V8's regex engines are set up before any regex of the config is compiled (also in workers).
import '../regex/engine.js';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

const HELP = `Usage: portico <command> [options]

Commands:
  run     [-c FILE]   start serving (default FILE: ./portico.yaml)
  reload  [-c FILE]   check FILE, then have the server started with it serve it (SIGHUP)
  upgrade [-c FILE]   replace the server started with FILE by a new process, from the code
                      on disk now, taking over its sockets; the old one drains (SIGUSR2)
  check   [-c FILE]   validate a config and exit 0, or print every error and exit 1
          [--strict]  every warning (something not carried over) is an error too
  adapt   -c FILE     print the portico.yaml equivalent of an nginx.conf or a Caddyfile
  schema              print the JSON Schema of the config (for editors)
  trust   [-c FILE]   create the local CA if needed and install its root in the system trust store
  untrust [-c FILE]   remove the local root CA from the system trust store
  hash-password [--cost N]
                      read a password on stdin, print its bcrypt hash (for basic_auth)

Options:
  -c, --config FILE   config file: portico.yaml/.json, an nginx.conf or a Caddyfile
  --adapter NAME      read FILE as nginx, caddyfile or yaml (default: by name, then content)
  --nginx-prefix DIR  nginx's prefix, for its default root DIR/html (default /usr/share/nginx)
  -h, --help          show this help
  -v, --version       print the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

// `portico schema | head`: the reader went away. End as the classic Unix tools do when their
// pipe closes (killed by SIGPIPE, which node ignores): quietly, with status 128 + 13.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(141);
    throw err;
  });

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        adapter: { type: 'string' },
        'nginx-prefix': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        cost: { type: 'string' },
        strict: { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`portico: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`portico ${version()}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined && !values.help ? 2 : 0;
  }
  const file = values.config ?? 'portico.yaml';
  const adapter = values.adapter;
  if (adapter !== undefined && adapter !== 'nginx' && adapter !== 'caddyfile' && adapter !== 'yaml') {
    process.stderr.write(`portico: --adapter must be nginx, caddyfile or yaml, got '${adapter}'\n`);
    return 2;
  }
  const load = { adapter, nginxPrefix: values['nginx-prefix'] } as const;
  switch (command) {
    case 'run':
      return (await import('./malloc-relaunch.js')).relaunchTuned() ?? (await import('./run.js')).run(file, load);
    case 'check':
      return (await import('./check.js')).check(file, load, { strict: values.strict === true });
    case 'reload':
    case 'upgrade':
      return (await import('./signal-server.js')).signalServer(file, load, command);
    case 'adapt':
      if (values.config === undefined) {
        process.stderr.write(`portico: adapt needs -c FILE\n`);
        return 2;
      }
      return (await import('./adapt.js')).adaptCommand(file, load);
    case 'trust':
      return (await import('./trust.js')).trust(values.config);
    case 'untrust':
      return (await import('./trust.js')).untrust(values.config);
    case 'hash-password':
      return (await import('./hash-password.js')).hashPasswordCommand(values.cost);
    case 'schema': {
      const { jsonSchema } = await import('../config/schema.js');
      process.stdout.write(JSON.stringify(jsonSchema(), null, 2) + '\n');
      return 0;
    }
    default:
      process.stderr.write(`portico: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(err.problems.join('\n') + '\n');
    else process.stderr.write(`portico: ${(err as Error).stack ?? String(err)}\n`);
    // Now, not when the event loop empties: a start that failed half way may hold handles (the
    // launcher's IPC channel), and a pipe to stderr is written synchronously on Linux.
    process.exit(1);
  },
);
