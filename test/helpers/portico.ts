/** Starts Portico in-process on port 0 from a config object, with logs captured for assertions. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { validateConfig } from '../../src/config/load.js';
import { startServer, type PorticoServer, type StartOptions } from '../../src/server/server.js';
import { ErrorLog } from '../../src/log/error-log.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';

export interface TestPortico {
  server: PorticoServer;
  port: number;
  url: string;
  /** Error-log records (parsed JSON). */
  errors: Record<string, unknown>[];
  close(): Promise<void>;
}

/** A config whose single server listens on 127.0.0.1:0 unless it says otherwise. */
export async function startPortico(input: PorticoConfigInput, options: Pick<StartOptions, 'now' | 'upstream'> = {}): Promise<TestPortico> {
  const config = validateConfig(
    {
      ...input,
      access_log: input.access_log ?? false,
      // Tests start many servers at once: the admin listener only where a test asks for one.
      admin: input.admin ?? false,
      servers: input.servers.map((s) => ({ listen: ['127.0.0.1:0'], ...s })),
    },
    'test-config',
  );
  const errors: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) errors.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const errorLog = new ErrorLog('info');
  (errorLog as { logger: unknown }).logger = pino({ level: 'debug', base: undefined }, sink);
  const server = await startServer(config, { errorLog, ...options });
  const port = server.addresses[0]!.port;
  return { server, port, url: `http://127.0.0.1:${port}`, errors, close: () => server.close() };
}

/** Upstream route shorthand. */
export function proxyTo(address: string, extra: Record<string, unknown> = {}) {
  return { proxy: { to: address, ...extra } };
}
