/**
 * A bounded FIFO of body bytes: memory first, then a private temp file. One producer pushes
 * chunks (the client's request body, or an upstream response the client is too slow for) and
 * one consumer reads them back in order, at its own pace, possibly at the same time.
 *
 * Order is kept by one rule: once a chunk went to the file, later chunks go there too until
 * the consumer has drained the file; then the file is rewound and reused, so on disk there is
 * only the backlog. File I/O is synchronous (see temp-file.ts), so a pushed chunk is readable
 * at once.
 */
import { TempFile } from './temp-file.js';

export interface SpoolLimits {
  /** Bytes held in memory before spilling to disk. */
  memory: number;
  /** Unread bytes allowed on disk before push() asks the producer to wait. */
  file: number;
  /** Temp directory; os.tmpdir() when undefined. */
  dir?: string | undefined;
}

type ReadCallback = (err: Error | null, chunk: Buffer | null) => void;

/** Fewer, larger reads: one syscall each. */
const READ_SIZE = 256 * 1024;

export class Spool {
  /** Bytes pushed so far. */
  total = 0;
  /** Called when push() had returned false and the spool can take more. */
  onSpace: (() => void) | null = null;
  error: Error | null = null;

  readonly #limits: SpoolLimits;
  #mem: Buffer[] = [];
  #memBytes = 0;
  #file: TempFile | null = null;
  /** File region [#readPos, #writePos) is unread. */
  #readPos = 0;
  #writePos = 0;
  #ended = false;
  #destroyed = false;
  #full = false;
  #waiter: ReadCallback | null = null;

  constructor(limits: SpoolLimits) {
    this.#limits = limits;
  }

  /** Whether any byte went to disk. */
  get spilled(): boolean {
    return this.#file !== null;
  }

  /** Bytes pushed and not yet read. */
  get backlog(): number {
    return this.#memBytes + (this.#writePos - this.#readPos);
  }

  /** Takes a chunk (the spool keeps a reference); false: wait for onSpace before pushing more (or see `error`). */
  push(chunk: Buffer): boolean {
    if (this.#destroyed || this.error) return false;
    this.total += chunk.length;
    if (this.#writePos === this.#readPos && this.#memBytes + chunk.length <= this.#limits.memory) {
      this.#mem.push(chunk);
      this.#memBytes += chunk.length;
    } else {
      try {
        (this.#file ??= new TempFile(this.#limits.dir)).write(chunk, this.#writePos);
      } catch (err) {
        this.#fail(err as Error);
        return false;
      }
      this.#writePos += chunk.length;
    }
    this.#wake();
    this.#full = this.#writePos - this.#readPos >= this.#limits.file;
    return !this.#full;
  }

  /** No more chunks will be pushed. */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /**
   * The next chunk in order, or null once everything pushed before end() was read. The
   * callback runs synchronously when there is something to read, else once there is.
   */
  read(cb: ReadCallback): void {
    if (this.#destroyed) return cb(new Error('spool destroyed'), null);
    if (this.error) return cb(this.error, null);
    if (this.#mem.length > 0) {
      const chunk = this.#mem.shift()!;
      this.#memBytes -= chunk.length;
      return cb(null, chunk);
    }
    if (this.#writePos > this.#readPos) {
      let data: Buffer;
      try {
        data = this.#file!.read(Math.min(READ_SIZE, this.#writePos - this.#readPos), this.#readPos);
        if (data.length === 0) throw new Error('temp file shorter than written');
      } catch (err) {
        return this.#fail(err as Error, cb);
      }
      this.#readPos += data.length;
      // Drained file: rewind it, so the disk holds only the backlog.
      if (this.#readPos === this.#writePos) this.#readPos = this.#writePos = 0;
      if (this.#full && this.#writePos - this.#readPos < this.#limits.file) {
        this.#full = false;
        this.onSpace?.();
      }
      return cb(null, data);
    }
    if (this.#ended) return cb(null, null);
    this.#waiter = cb; // more is on its way
  }

  /** Frees memory and closes the temp file; idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#mem = [];
    this.#file?.close();
    this.#file = null;
    this.onSpace = null;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.(new Error('spool destroyed'), null);
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === null) return;
    this.#waiter = null;
    this.read(waiter);
  }

  #fail(err: Error, cb?: ReadCallback): void {
    this.error = err;
    const waiter = cb ?? this.#waiter;
    this.#waiter = null;
    waiter?.(err, null);
  }
}
