/**
 * A bounded FIFO of body bytes: memory first, then a private temp file, then (when the file
 * may not take more) a short tail in memory. One producer pushes chunks (the client's request
 * body, or an upstream response the client is too slow for) and one consumer reads them back
 * in order, at its own pace, possibly at the same time.
 *
 * Order is kept by one rule: once a chunk went past memory, later chunks follow it (to the
 * file, or to the tail behind it) until the consumer has drained what is ahead. The file is
 * truncated once drained, so on disk there is only the backlog, and every byte on disk is
 * reserved from the process's SpoolBudget first (spool-budget.ts). When the file may not grow
 * (its own `file` cap, the connection's or the process's budget, or this turn's write credit
 * is spent), the chunk waits in the tail and push() returns false: the producer pauses until
 * onSpace. The tail is read straight from memory when the file is drained, so a spool out of
 * budget passes bytes at the consumer's pace and holds about one chunk.
 */
import { TempFile } from './temp-file.js';
import { ConnectionAccount, SpoolBudget, WRITE_SLICE, type SpoolWaiter } from './spool-budget.js';

export interface SpoolLimits {
  /** Bytes held in memory before spilling to disk. */
  memory: number;
  /** Largest temp file of this spool (nginx proxy_max_temp_file_size); beyond it push() asks the producer to wait. */
  file: number;
  /** The process's temp-file budget and temp dir; none: unlimited, os.tmpdir(). */
  budget?: SpoolBudget | undefined;
  /** The client connection this spool counts against (SpoolBudget.accountOf). */
  account?: ConnectionAccount | undefined;
}

type ReadCallback = (err: Error | null, chunk: Buffer | null) => void;

/** Fewer, larger reads: one syscall each. */
const READ_SIZE = 256 * 1024;

const unlimited = new SpoolBudget();

export class Spool implements SpoolWaiter {
  /** Bytes pushed so far. */
  total = 0;
  /** Called when push() had returned false and the spool can take more. */
  onSpace: (() => void) | null = null;
  /** Called when a retry (a new turn, released budget) finds the spool `stuck`; push() callers read `stuck` themselves. */
  onStuck: (() => void) | null = null;
  error: Error | null = null;

  readonly #limits: SpoolLimits;
  readonly #budget: SpoolBudget;
  readonly #account: ConnectionAccount;
  #mem: Buffer[] = [];
  #memBytes = 0;
  #file: TempFile | null = null;
  /** File region [#readPos, #writePos) is unread; #writePos bytes are on disk and reserved. */
  #readPos = 0;
  #writePos = 0;
  /** Chunks after the file's, not written (yet): the file may not take them now. */
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #spilled = false;
  #ended = false;
  #destroyed = false;
  /** push() returned false: onSpace is owed once the tail is empty. */
  #full = false;
  #waiter: ReadCallback | null = null;
  /** read() took something: the spool no longer holds every byte (reader() needs it whole). */
  #consumed = false;

  constructor(limits: SpoolLimits) {
    this.#limits = limits;
    this.#budget = limits.budget ?? unlimited;
    this.#account = limits.account ?? new ConnectionAccount();
  }

  /** Whether any byte went to disk. */
  get spilled(): boolean {
    return this.#spilled;
  }

  /** Bytes pushed and not yet read. */
  get backlog(): number {
    return this.#memBytes + (this.#writePos - this.#readPos) + this.#tailBytes;
  }

  /** Bytes of this spool on disk (reserved from the budget) right now. */
  get onDisk(): number {
    return this.#writePos;
  }

  /**
   * The tail waits for disk this spool can never get, whoever releases what: its own file is
   * at its cap, or at the connection's or the process's. Only the consumer can help then (a
   * request body, read back only once complete, cannot be helped: 413).
   */
  get stuck(): boolean {
    if (this.#tail.length === 0) return false;
    const need = this.#writePos + this.#tail[0]!.length;
    return need > this.#limits.file || need > this.#budget.perConnection || need > this.#budget.total;
  }

  /** Takes a chunk (the spool keeps a reference); false: wait for onSpace before pushing more (or see `error`). */
  push(chunk: Buffer): boolean {
    if (this.#destroyed || this.error) return false;
    this.total += chunk.length;
    if (this.#writePos === this.#readPos && this.#tail.length === 0) {
      const waiter = this.#waiter;
      if (waiter !== null) {
        // The consumer is waiting with nothing ahead of this chunk: it takes it, no copy kept.
        this.#waiter = null;
        waiter(null, chunk);
        return true;
      }
      if (this.#memBytes + chunk.length <= this.#limits.memory) {
        this.#mem.push(chunk);
        this.#memBytes += chunk.length;
        return true;
      }
    }
    // Cut to WRITE_SLICE: one write call, and one reservation, is bounded whatever the producer sends.
    for (let at = 0; at < chunk.length; at += WRITE_SLICE) this.#tail.push(at === 0 && chunk.length <= WRITE_SLICE ? chunk : chunk.subarray(at, at + WRITE_SLICE));
    this.#tailBytes += chunk.length;
    this.#flush();
    this.#wake();
    if (this.#tail.length === 0 || this.error) return !this.error;
    this.#full = true;
    return false;
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
    this.#consumed = true;
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
        this.#readPos += data.length;
        // Drained: empty the file, so the disk holds only the backlog and the budget gets it back.
        if (this.#readPos === this.#writePos) this.#truncate();
      } catch (err) {
        return this.#fail(err as Error, cb);
      }
      return cb(null, data);
    }
    if (this.#tail.length > 0) {
      // The file is drained: what waits in the tail goes straight from memory.
      const chunk = this.#tail.shift()!;
      this.#tailBytes -= chunk.length;
      this.#spaceMaybe();
      return cb(null, chunk);
    }
    if (this.#ended) return cb(null, null);
    this.#waiter = cb; // more is on its way
  }

  /**
   * A reader of every byte pushed, from the first, for a spool that was ended and never read():
   * each reader keeps its own place and frees nothing (destroy() does), so a request body held
   * for a retry can be sent again while an earlier try's stream is abandoned. The bytes stay on
   * disk, reserved from the budget, until destroy().
   */
  reader(): (cb: ReadCallback) => void {
    if (!this.#ended || this.#consumed) throw new Error('only an ended spool that was never read can be read again');
    let mem = 0;
    let pos = 0;
    let tail = 0;
    return (cb) => {
      if (this.#destroyed) return cb(new Error('spool destroyed'), null);
      if (this.error) return cb(this.error, null);
      if (mem < this.#mem.length) return cb(null, this.#mem[mem++]!);
      if (pos < this.#writePos) {
        let data: Buffer;
        try {
          data = this.#file!.read(Math.min(READ_SIZE, this.#writePos - pos), pos);
          if (data.length === 0) throw new Error('temp file shorter than written');
        } catch (err) {
          return this.#fail(err as Error, cb);
        }
        pos += data.length;
        return cb(null, data);
      }
      if (tail < this.#tail.length) return cb(null, this.#tail[tail++]!);
      cb(null, null);
    };
  }

  /** Frees memory, closes the temp file and returns its bytes to the budget; idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#budget.forget(this);
    this.#mem = [];
    this.#tail = [];
    this.#tailBytes = 0;
    this.#budget.release(this.#account, this.#writePos);
    this.#readPos = this.#writePos = 0;
    this.#file?.close();
    this.#file = null;
    this.onSpace = null;
    this.onStuck = null;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.(new Error('spool destroyed'), null);
  }

  /** SpoolWaiter: budget was released, or a new turn brought write credit. */
  retry(): void {
    if (this.#destroyed || this.error) return;
    this.#flush();
    this.#wake();
    // Became stuck while its producer was paused: push() cannot report it, this does.
    if (this.stuck) this.onStuck?.();
  }

  /** Writes tail chunks to the file while the file, the budget and this turn's credit allow. */
  #flush(): void {
    const budget = this.#budget;
    while (this.#tail.length > 0) {
      const chunk = this.#tail[0]!;
      // Past its own cap the file waits to be drained by the reader; nobody else can help.
      if (this.#writePos + chunk.length > this.#limits.file) return;
      if (!budget.canWrite()) return budget.deferWrite(this);
      if (!budget.reserve(this.#account, chunk.length)) {
        // Another's release can help only if this spool alone would fit.
        if (!this.stuck) budget.waitForSpace(this);
        return;
      }
      budget.spendWriteCredit(chunk.length);
      try {
        (this.#file ??= new TempFile(budget.dir)).write(chunk, this.#writePos);
      } catch (err) {
        budget.release(this.#account, chunk.length);
        return void this.#fail(err as Error);
      }
      this.#spilled = true;
      this.#writePos += chunk.length;
      this.#tail.shift();
      this.#tailBytes -= chunk.length;
    }
    this.#spaceMaybe();
  }

  /** Throws on a disk error, before anything changed (destroy() then releases the bytes). */
  #truncate(): void {
    this.#file!.truncate();
    const held = this.#writePos;
    this.#readPos = this.#writePos = 0;
    this.#budget.release(this.#account, held);
  }

  #spaceMaybe(): void {
    if (!this.#full || this.#tail.length > 0) return;
    this.#full = false;
    this.onSpace?.();
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === null) return;
    this.#waiter = null;
    this.read(waiter);
  }

  #fail(err: Error, cb?: ReadCallback): void {
    this.error = err;
    this.#budget.forget(this);
    const waiter = cb ?? this.#waiter;
    this.#waiter = null;
    waiter?.(err, null);
  }
}
