/** A ResponseWriter that keeps what is written to it, for tests of filters and handlers without a socket. */
import { WriterBase } from '../../src/http/response-writer.js';

export class RecordingWriter extends WriterBase {
  head: { status: number; reason: string; headers: string[] } | null = null;
  readonly chunks: Buffer[] = [];
  ended = false;
  finished = false;
  destroyed = false;
  readonly writableLength = 0;

  constructor(isHead = false) {
    super(isHead);
  }

  get headersSent(): boolean {
    return this.head !== null;
  }

  protected sendHead(status: number, reason: string, headers: string[]): void {
    this.head = { status, reason, headers: [...headers] };
  }

  protected sendBody(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  protected sendEnd(chunk: Buffer | string | undefined): void {
    if (chunk !== undefined) this.chunks.push(Buffer.from(chunk));
    this.ended = true;
    this.finished = true;
    this.closed();
  }

  protected watchDrain(): void {}
  flush(): void {}
  destroy(): void {
    this.destroyed = true;
    this.closed();
  }
  writeContinue(): void {}
  closeConnection(): void {}
}
