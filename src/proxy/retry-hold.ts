/**
 * With a pool that can retry, a small response to an idempotent request is held until it is
 * complete: an upstream dying between its head and its body (gunicorn writes them separately)
 * then costs a retry on another server, not a truncated reply to the client. The held
 * response goes out whole once the upstream ended it.
 */
import type { ResponseWriter } from '../http/response-writer.js';
import { IDEMPOTENT } from './idempotent.js';

/** Responses up to this size are held. */
const HOLD_LIMIT = 64 * 1024;

export class HeldResponse {
  readonly body: Buffer[] = [];

  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: string[],
  ) {}

  /** The whole body, once the head was written, and the end. */
  writeBody(writer: ResponseWriter): void {
    for (const chunk of this.body) writer.write(chunk);
    writer.end();
  }
}

/** Whether a response to `method` with these upstream headers is held (see the top). */
export function holdable(method: string, raw: readonly string[]): boolean {
  return IDEMPOTENT.has(method) && smallBody(raw);
}

/** A response delimited by a Content-Length of at most HOLD_LIMIT (and not chunked). */
function smallBody(raw: readonly string[]): boolean {
  let small = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return false;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      const n = Number(raw[i + 1]);
      small = Number.isInteger(n) && n <= HOLD_LIMIT;
    }
  }
  return small;
}
