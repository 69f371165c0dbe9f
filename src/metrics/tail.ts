/**
 * The dashboard's live tail: the last requests of this process in a fixed ring, filled only
 * while a dashboard is open (ProcessStats.watchTail). Each entry has a sequence number so a
 * reader asks for "everything after n" and never gets a line twice.
 */
import type { Exchange } from '../http/exchange.js';

export interface TailEntry {
  seq: number;
  /** ms since the epoch. */
  time: number;
  method: string;
  uri: string;
  status: number;
  ms: number;
  route: string;
  upstream: string;
  client: string;
  request_id: string;
}

const SIZE = 500;
/** A URI longer than this is cut for the tail (the access log has it whole). */
const MAX_URI = 300;

export class TailRing {
  readonly #entries: (TailEntry | undefined)[] = new Array(SIZE);
  #seq = 0;

  push(ex: Exchange, status: number, ms: number): void {
    const uri = ex.req.url ?? '';
    const seq = ++this.#seq;
    this.#entries[seq % SIZE] = {
      seq,
      time: Date.now(),
      method: ex.req.method ?? '',
      uri: uri.length > MAX_URI ? uri.slice(0, MAX_URI) + '…' : uri,
      status,
      ms: Math.round(ms * 100) / 100,
      route: ex.routeName,
      upstream: ex.upstream,
      client: ex.clientIp,
      request_id: ex.requestId,
    };
  }

  /** Entries after `seq`, oldest first (at most the ring's size). */
  since(seq: number): TailEntry[] {
    const out: TailEntry[] = [];
    const from = Math.max(seq + 1, this.#seq - SIZE + 1, 1);
    for (let s = from; s <= this.#seq; s++) {
      const e = this.#entries[s % SIZE];
      if (e !== undefined && e.seq === s) out.push(e);
    }
    return out;
  }

  get last(): number {
    return this.#seq;
  }
}
