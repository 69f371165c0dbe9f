/**
 * A bounded FIFO of body bytes: memory first, then a private temp file. One producer pushes
 * chunks (the client's request body, or an upstream response the client is too slow for) and
 * one consumer reads them back in order, at its own pace, possibly at the same time.
 *
 * Order is kept by one rule: once a chunk went to the file, later chunks go there too until
 * the consumer has drained the file; then the file is rewound and reused, so on disk there is
 * only the backlog. Writes are serialized, so the consumer reads only completed bytes.
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

/** Fewer, larger reads: each is a round trip through libuv's thread pool. */
const READ_SIZE = 256 * 1024;
/** Bytes waiting to be written to disk before the producer is asked to wait. */
const MAX_PENDING_WRITES = 1024 * 1024;

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
  /** File region [#readPos, #writePos) is unread; bytes below #committed are on disk. */
  #readPos = 0;
  #writePos = 0;
  #committed = 0;
  #queue: Buffer[] = [];
  #queueBytes = 0;
  #writing = false;
  #reading = false;
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

  /** Takes a chunk (the spool keeps a reference); false: wait for onSpace before pushing more. */
  push(chunk: Buffer): boolean {
    if (this.#destroyed || this.error) return false;
    this.total += chunk.length;
    if (this.#writePos === this.#readPos && this.#memBytes + chunk.length <= this.#limits.memory) {
      this.#mem.push(chunk);
      this.#memBytes += chunk.length;
    } else {
      this.#file ??= new TempFile(this.#limits.dir);
      this.#queue.push(chunk);
      this.#queueBytes += chunk.length;
      this.#writePos += chunk.length;
      this.#flush();
    }
    this.#wake();
    this.#full = this.#overLimit();
    return !this.#full;
  }

  /** No more chunks will be pushed. */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /**
   * The next chunk in order, or null once everything pushed before end() was read. The
   * callback may run synchronously (memory) or later (disk, or nothing pushed yet).
   */
  read(cb: ReadCallback): void {
    if (this.#destroyed) return cb(new Error('spool destroyed'), null);
    if (this.error) return cb(this.error, null);
    if (this.#mem.length > 0) {
      const chunk = this.#mem.shift()!;
      this.#memBytes -= chunk.length;
      this.#afterRead();
      return cb(null, chunk);
    }
    if (this.#committed > this.#readPos) {
      this.#reading = true;
      const length = Math.min(READ_SIZE, this.#committed - this.#readPos);
      this.#file!.read(length, this.#readPos, (err, data) => {
        this.#reading = false;
        if (this.#destroyed) return cb(new Error('spool destroyed'), null);
        if (err || data.length === 0) return this.#fail(err ?? new Error('temp file shorter than written'), cb);
        this.#readPos += data.length;
        this.#afterRead();
        cb(null, data);
      });
      return;
    }
    if (this.#ended && this.#writePos === this.#readPos) return cb(null, null);
    this.#waiter = cb; // more is on its way (pushed, or being written)
  }

  /** Frees memory and closes the temp file; idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#mem = [];
    this.#queue = [];
    this.#file?.close();
    this.#file = null;
    this.onSpace = null;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.(new Error('spool destroyed'), null);
  }

  #overLimit(): boolean {
    return this.#writePos - this.#readPos >= this.#limits.file || this.#queueBytes >= MAX_PENDING_WRITES;
  }

  #afterRead(): void {
    // Drained file: rewind it, so the disk holds only the backlog.
    if (this.#readPos === this.#writePos && !this.#writing && !this.#reading && this.#readPos > 0) {
      this.#readPos = this.#writePos = this.#committed = 0;
    }
    if (this.#full && !this.#overLimit()) {
      this.#full = false;
      this.onSpace?.();
    }
  }

  #flush(): void {
    if (this.#writing || this.#queue.length === 0 || this.#destroyed) return;
    this.#writing = true;
    const chunks = this.#queue;
    const length = this.#queueBytes;
    this.#queue = [];
    this.#queueBytes = 0;
    this.#file!.write(chunks, this.#committed, (err) => {
      this.#writing = false;
      if (this.#destroyed) return;
      if (err) return this.#fail(err);
      this.#committed += length;
      this.#wake();
      if (this.#queue.length > 0) this.#flush();
      else this.#afterRead();
    });
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
