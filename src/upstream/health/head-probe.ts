/**
 * A HEAD health check, written and read on the raw connection: the status line is all it
 * needs, and the connection is read until the server closes it (the request says
 * `Connection: close`). Some servers send a body after a HEAD response anyway (gunicorn 20 with
 * a WSGI app that returns one, as Django does): an HTTP client that takes the response as
 * complete after its head hangs up on those bytes, and the server logs a broken pipe.
 */
import type { Socket } from 'node:net';
import { requestHead } from '../../http/head.js';

/** Status line and fields fit in this; what follows is read and dropped. */
const MAX_HEAD = 16 * 1024;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})[ \r]/;

export interface HeadProbe {
  /** Resolves with the status (0: none could be read) or the reason there is none. */
  result: Promise<{ status: number } | { error: string }>;
  /** Stops the probe (the check timed out): the connection is closed. */
  abort(): void;
}

export function headProbe(dial: () => Socket, path: string, headers: readonly string[]): HeadProbe {
  let socket: Socket | undefined;
  const result = new Promise<{ status: number } | { error: string }>((resolve) => {
    let head;
    try {
      head = requestHead('HEAD', path, headers);
    } catch (err) {
      return resolve({ error: (err as Error).message });
    }
    const s = (socket = dial());
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (chunk: string) => {
      if (text.length < MAX_HEAD) text += chunk;
    });
    s.on('error', (err: Error & { code?: string }) => resolve({ error: err.code ?? err.message }));
    s.on('end', () => {
      const m = STATUS_LINE.exec(text);
      resolve(m ? { status: Number(m[1]) } : { error: text.length === 0 ? 'connection closed with no response' : 'not an HTTP response' });
      s.end();
    });
    s.on('close', () => resolve({ error: 'connection closed with no response' }));
    s.write(head);
  });
  return { result, abort: () => socket?.destroy() };
}
