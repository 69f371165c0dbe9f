/**
 * What all temp files of one Portico process may hold together (`temp_files`): a process-wide
 * cap and a cap per client connection (HTTP/2: every stream of the session together; HTTP/1.1:
 * the one connection), so a client that never reads — one HTTP/2 session with 100 streams at
 * window 0 — cannot fill the disk, and many such clients cannot either. nginx has only the
 * per-response proxy_max_temp_file_size (1024m) and no total: the same attack filled 3 GiB
 * in 6 s here before this existed.
 *
 * Accounting is exact and in bytes on disk: a spool reserves each byte before writing it and
 * releases what it holds when its file is drained (and truncated) or closed, so `reserved`
 * is the sum of the sizes of the open temp files. A spool refused a reservation keeps one
 * chunk in memory and tells its producer to pause; the response then goes at the client's
 * pace, as with buffering off.
 *
 * Synchronous writes are paced too: at most WRITE_PER_TURN bytes per event-loop turn across
 * all spools (nginx writes a temp file proxy_temp_file_write_size at a time), so a burst of
 * slow responses cannot hold the loop for the length of its writes.
 */
import { tmpdir } from 'node:os';

export interface SpoolBudgetLimits {
  /** Bytes all temp files may hold together. */
  total: number;
  /** Bytes the temp files of one client connection may hold together. */
  perConnection: number;
  /** Where temp files are created. */
  dir: string;
}

/** Temp-file bytes of one client connection. */
export class ConnectionAccount {
  reserved = 0;
}

/** Something waiting for budget or for write credit: called to try again. */
export interface SpoolWaiter {
  retry(): void;
}

/**
 * Bytes written synchronously per event-loop turn, all spools together: four 64 KiB writes,
 * well under a millisecond into the page cache. A spool past it keeps its chunk in memory and
 * pauses its producer until the next turn. Chosen by measurement (bench/h2-never-reading.mjs,
 * 100 never-read streams on a loaded 2-core VM): with 1 MiB the other clients' p99 was
 * 87-162 ms in three runs, with 256 KiB 60-87 ms; 64 KiB was no better than 256 KiB.
 */
export const WRITE_PER_TURN = 256 * 1024;

/** Largest single write: chunks are cut to this, so one write call is bounded too. */
export const WRITE_SLICE = 64 * 1024;

const accounts = new WeakMap<object, ConnectionAccount>();

export class SpoolBudget {
  total: number;
  perConnection: number;
  dir: string;
  /** Bytes in temp files right now. */
  reserved = 0;
  readonly #waiting = new Set<SpoolWaiter>();
  readonly #deferred = new Set<SpoolWaiter>();
  #credit = WRITE_PER_TURN;
  #turnScheduled = false;
  #wakeScheduled = false;

  constructor(limits: Partial<SpoolBudgetLimits> = {}) {
    this.total = limits.total ?? Infinity;
    this.perConnection = limits.perConnection ?? Infinity;
    this.dir = limits.dir ?? tmpdir();
  }

  /** New limits (a reload); what is reserved stays reserved and is released as usual. */
  configure(limits: SpoolBudgetLimits): void {
    this.total = limits.total;
    this.perConnection = limits.perConnection;
    this.dir = limits.dir;
  }

  /** The account of a client connection (Exchange.connection: HTTP/1.1, the socket; HTTP/2, the session). */
  accountOf(key: object): ConnectionAccount {
    let account = accounts.get(key);
    if (account === undefined) accounts.set(key, (account = new ConnectionAccount()));
    return account;
  }

  /** Reserves `n` bytes for `account`; false (and nothing reserved) past either cap. */
  reserve(account: ConnectionAccount, n: number): boolean {
    if (this.reserved + n > this.total || account.reserved + n > this.perConnection) return false;
    this.reserved += n;
    account.reserved += n;
    return true;
  }

  release(account: ConnectionAccount, n: number): void {
    if (n <= 0) return;
    this.reserved -= n;
    account.reserved -= n;
    if (this.#waiting.size > 0 && !this.#wakeScheduled) {
      this.#wakeScheduled = true;
      setImmediate(this.#wakeWaiting);
    }
  }

  /** `w` was refused a reservation: retried once some budget is released. */
  waitForSpace(w: SpoolWaiter): void {
    this.#waiting.add(w);
  }

  /** Whether this turn has write credit left; false: deferWrite and wait for the next turn. */
  canWrite(): boolean {
    return this.#credit > 0;
  }

  /** Counts `n` bytes written synchronously this turn (the last write may overshoot by one slice). */
  spendWriteCredit(n: number): void {
    this.#credit -= n;
    if (!this.#turnScheduled) {
      this.#turnScheduled = true;
      setImmediate(this.#nextTurn);
    }
  }

  /** `w` ran out of write credit: retried next turn. */
  deferWrite(w: SpoolWaiter): void {
    this.#deferred.add(w);
  }

  /** `w` is gone (its spool destroyed). */
  forget(w: SpoolWaiter): void {
    this.#waiting.delete(w);
    this.#deferred.delete(w);
  }

  readonly #nextTurn = (): void => {
    this.#turnScheduled = false;
    this.#credit = WRITE_PER_TURN;
    if (this.#deferred.size === 0) return;
    const now = [...this.#deferred];
    this.#deferred.clear();
    // In arrival order; one that runs out again goes to the back for the next turn.
    for (const w of now) w.retry();
  };

  readonly #wakeWaiting = (): void => {
    this.#wakeScheduled = false;
    const now = [...this.#waiting];
    this.#waiting.clear();
    for (const w of now) w.retry();
  };
}
