/**
 * A private temp file for spooled bodies: created 0600 with O_EXCL in os.tmpdir() and
 * unlinked at once, so it has no name anyone could open and disappears with its descriptor,
 * even when the process is killed (nginx does the same with client_body_temp). Reads and
 * writes are positional; close() waits for operations in flight, because closing a
 * descriptor under a pending read or write could hand its number to another open file.
 */
import { open, unlink, writev, read, close } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

type Done = (err: NodeJS.ErrnoException | null) => void;

/** Temp files open right now, for tests and for metrics later. */
export const tempFiles = { open: 0 };

export class TempFile {
  #fd = -1;
  #pending = 0;
  #closing = false;
  #opening: Done[] | null = [];

  constructor(dir = tmpdir()) {
    const path = join(dir, `portico-${process.pid}-${randomBytes(8).toString('hex')}`);
    open(path, 'wx+', 0o600, (err, fd) => {
      if (err) return this.#opened(err);
      tempFiles.open++;
      this.#fd = fd;
      // Unlinked before the first byte is written. If that fails the file is still private
      // (0600, random name), so the body is kept rather than refused.
      unlink(path, () => {
        if (this.#closing) this.#close();
        this.#opened(null);
      });
    });
  }

  #opened(err: NodeJS.ErrnoException | null): void {
    const waiting = this.#opening!;
    this.#opening = null;
    for (const cb of waiting) cb(err);
  }

  #ready(cb: Done): void {
    if (this.#opening !== null) this.#opening.push(cb);
    else cb(this.#fd < 0 ? new Error('temp file could not be opened') : null);
  }

  /** Writes the buffers one after the other at `position` (one writev, no copy). */
  write(bufs: Buffer[], position: number, cb: Done): void {
    this.#ready((err) => {
      if (err || this.#closing) return cb(err ?? new Error('temp file closed'));
      this.#pending++;
      writev(this.#fd, bufs, position, (e) => {
        this.#settle();
        cb(e);
      });
    });
  }

  /** Reads up to `length` bytes at `position`. */
  read(length: number, position: number, cb: (err: NodeJS.ErrnoException | null, data: Buffer) => void): void {
    this.#ready((err) => {
      if (err || this.#closing) return cb(err ?? new Error('temp file closed'), Buffer.alloc(0));
      this.#pending++;
      const buf = Buffer.allocUnsafe(length);
      read(this.#fd, buf, 0, length, position, (e, n) => {
        this.#settle();
        cb(e, buf.subarray(0, n));
      });
    });
  }

  /** Idempotent; the descriptor is closed once no operation is in flight. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#close();
  }

  #settle(): void {
    this.#pending--;
    if (this.#closing) this.#close();
  }

  #close(): void {
    if (this.#pending > 0 || this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    tempFiles.open--;
    close(fd, () => {});
  }
}
