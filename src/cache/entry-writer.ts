/**
 * Writes one entry as the response passes: the prefix and metadata first, the body as it
 * comes, into a temp file beside the final one (same directory, so the rename is atomic), and
 * renames it once the body is complete, after writing the body length into the prefix. A
 * response that breaks off, a disk error or an entry larger than the zone allows leave no
 * file under the entry's name: the temp file is removed (nginx: ngx_http_file_cache_update,
 * ngx_ext_rename_file).
 *
 * Writes are positional and queued off the event loop (libuv's pool); `write` returns false
 * once HIGH bytes wait, and `onDrain` says when the disk caught up, so the response goes at
 * the pace of the slower of the client and the disk, as it would with a second client. A
 * failed write ends the storing, never the response: the queue is dropped and drained.
 */
import { close, open, rename, unlink, write, writev } from 'node:fs';
import { BODY_LENGTH_OFFSET, encodeBodyLength } from './entry-format.js';

const HIGH = 256 * 1024;

export class EntryWriter {
  #fd = -1;
  #queue: Buffer[] = [];
  /** Bytes queued or being written. */
  #pending = 0;
  #writing = false;
  #position = 0;
  #body = 0;
  #ended = false;
  #failed = false;
  #drain: (() => void)[] = [];
  #done: ((ok: boolean) => void) | null = null;

  constructor(
    readonly tmpPath: string,
    readonly finalPath: string,
    head: Buffer,
    /** Most body bytes; beyond them the entry is given up. */
    readonly maxBody: number,
    /** Creates the entry's directory (once per directory). */
    ensureDir: () => Promise<void>,
    readonly onError: (err: Error) => void,
  ) {
    this.#queue.push(head);
    this.#pending = head.length;
    ensureDir().then(
      () =>
        open(tmpPath, 'wx', 0o600, (err, fd) => {
          if (err) return this.#fail(err);
          if (this.#failed) return close(fd, () => unlink(tmpPath, () => {}));
          this.#fd = fd;
          this.#pump();
        }),
      (err: Error) => this.#fail(err),
    );
  }

  /** Body bytes taken so far. */
  get bodyLength(): number {
    return this.#body;
  }

  get failed(): boolean {
    return this.#failed;
  }

  /** false: the disk is behind; onDrain says when to go on. */
  write(chunk: Buffer): boolean {
    if (this.#failed || this.#ended) return true;
    if (chunk.length === 0) return this.#pending < HIGH;
    this.#body += chunk.length;
    if (this.#body > this.maxBody) {
      this.#fail(null);
      return true;
    }
    this.#queue.push(chunk);
    this.#pending += chunk.length;
    this.#pump();
    return this.#pending < HIGH;
  }

  onDrain(fn: () => void): void {
    if (this.#failed || this.#pending < HIGH) queueMicrotask(fn);
    else this.#drain.push(fn);
  }

  /** The body is complete: `done(true)` once the entry is under its final name, `done(false)` if it could not be. */
  end(done: (ok: boolean) => void): void {
    if (this.#failed) return done(false);
    this.#ended = true;
    this.#done = done;
    this.#pump();
  }

  /** The response broke off: nothing is kept. */
  abort(): void {
    this.#fail(null);
  }

  #pump(): void {
    if (this.#writing || this.#fd < 0 || this.#failed) return;
    if (this.#queue.length === 0) {
      if (this.#ended) this.#finish();
      return;
    }
    const buffers = this.#queue;
    this.#queue = [];
    let length = 0;
    for (const b of buffers) length += b.length;
    this.#writing = true;
    const fd = this.#fd;
    writev(fd, buffers, this.#position, (err, written) => {
      this.#writing = false;
      // Given up while this write was in flight: #fail left the file to this callback.
      if (this.#failed) return close(fd, () => unlink(this.tmpPath, () => {}));
      if (err) return this.#fail(err);
      this.#position += written;
      this.#pending -= written;
      if (written < length) this.#queue.unshift(...rest(buffers, written));
      if (this.#pending < HIGH) this.#drained();
      this.#pump();
    });
  }

  #finish(): void {
    const fd = this.#fd;
    this.#fd = -1;
    this.#writing = true; // nothing else may start now
    write(fd, encodeBodyLength(this.#body), 0, 8, BODY_LENGTH_OFFSET, (err) => {
      close(fd, (closeErr) => {
        const failure = err ?? closeErr;
        if (failure) return this.#fail(failure);
        rename(this.tmpPath, this.finalPath, (renameErr) => {
          if (renameErr) return this.#fail(renameErr);
          const done = this.#done;
          this.#done = null;
          done?.(true);
        });
      });
    });
  }

  #drained(): void {
    const list = this.#drain;
    this.#drain = [];
    for (const fn of list) fn();
  }

  /** err null: given up on purpose (too large, aborted), not a disk error. */
  #fail(err: Error | null): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#queue = [];
    this.#pending = 0;
    if (err !== null) this.onError(err);
    const fd = this.#fd;
    this.#fd = -1;
    // A write in flight closes the file when it returns; before the open, the open does.
    if (fd >= 0 && !this.#writing) close(fd, () => unlink(this.tmpPath, () => {}));
    else if (fd < 0) unlink(this.tmpPath, () => {});
    this.#drained();
    const done = this.#done;
    this.#done = null;
    done?.(false);
  }
}

/** What a partial writev left of `buffers` after `written` bytes. */
function rest(buffers: Buffer[], written: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (written >= b.length) {
      written -= b.length;
      continue;
    }
    out.push(written > 0 ? b.subarray(written) : b);
    written = 0;
  }
  return out;
}
