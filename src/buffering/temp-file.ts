/**
 * A private temp file for spooled bodies: created 0600 with O_EXCL in the temp dir and
 * unlinked at once, so it has no name anyone could open and disappears with its descriptor,
 * even when the process is killed (nginx does the same with client_body_temp).
 *
 * I/O is synchronous, as in nginx without `aio`: a spooled body is written to and read back
 * from the page cache, a memcpy each way. The asynchronous API added a round trip through
 * libuv's thread pool per chunk: spooled 1 MiB uploads went from 330 to 547 per second when
 * it was dropped (single runs the same hour; this VM varies). A disk too slow for its page
 * cache stalls the event loop, as it stalls nginx's worker; how much is written per call and per
 * event-loop turn is bounded by the caller (spool-budget.ts).
 */
import { openSync, unlinkSync, writeSync, readSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Temp files open right now, for tests and for metrics later. */
export const tempFiles = { open: 0 };

export class TempFile {
  #fd: number;

  /** Throws when the file cannot be created (the caller refuses to spool). */
  constructor(dir = tmpdir()) {
    const path = join(dir, `portico-${process.pid}-${randomBytes(8).toString('hex')}`);
    this.#fd = openSync(path, 'wx+', 0o600);
    tempFiles.open++;
    try {
      unlinkSync(path);
    } catch {
      // Still private (0600, random name): the body is kept rather than refused.
    }
  }

  /** Writes `data` at `position`; throws on a disk error (ENOSPC comes on the write after a short one). */
  write(data: Buffer, position: number): void {
    for (let done = 0; done < data.length; ) done += writeSync(this.#fd, data, done, data.length - done, position + done);
  }

  /** Reads up to `length` bytes at `position` into a new buffer; throws on a disk error. */
  read(length: number, position: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = readSync(this.#fd, buf, 0, length, position);
    return n === length ? buf : buf.subarray(0, n);
  }

  /** Empties the file: its blocks go back to the file system. */
  truncate(): void {
    ftruncateSync(this.#fd, 0);
  }

  /** Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    tempFiles.open--;
    closeSync(fd);
  }
}
