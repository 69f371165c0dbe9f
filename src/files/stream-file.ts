/**
 * Writes a response body from an open file: pieces of our own bytes and byte ranges of the
 * file, read in chunks and written only as fast as the client takes them (a false from
 * `write` waits for 'drain'), so a 1 GiB file costs one chunk of memory. Nothing is shared
 * between responses: every chunk is a fresh buffer the socket may hold until it is sent.
 */
import type { ResponseWriter } from '../http/response-writer.js';
import type { FsBinding } from './fs-binding.js';
import type { Piece } from './range.js';

const CHUNK = 128 * 1024;

/**
 * Streams `pieces` and ends the response; closes `fd` in every case. A file that got shorter
 * than announced ends the response early by destroying it (its length was already promised).
 */
export function streamPieces(res: ResponseWriter, fs: FsBinding, fd: number, pieces: readonly Piece[], onError: (err: Error) => void): void {
  let index = 0;
  let position = -1;
  let done = false;

  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    fs.close(fd);
    if (err) {
      onError(err);
      res.destroy();
    }
  };
  res.onClose(() => finish());

  const next = (): void => {
    while (!done) {
      if (res.destroyed) return finish();
      const piece = pieces[index];
      if (piece === undefined) {
        res.end();
        return finish();
      }
      if (Buffer.isBuffer(piece)) {
        index++;
        if (!res.write(piece)) return void res.onDrain(next);
        continue;
      }
      if (position < 0) position = piece.start;
      const length = Math.min(CHUNK, piece.end + 1 - position);
      const buf = Buffer.allocUnsafe(length);
      fs.read(fd, buf, length, position, (err, bytes) => {
        if (done) return;
        if (err) return finish(err);
        if (bytes === 0) return finish(new Error('file shrank while being sent'));
        position += bytes;
        if (position > piece.end) {
          index++;
          position = -1;
        }
        if (res.write(bytes === length ? buf : buf.subarray(0, bytes))) next();
        else res.onDrain(next);
      });
      return;
    }
  };
  next();
}

/** The same pieces from bytes in memory (a cached small file). */
export function writePieces(res: ResponseWriter, body: Buffer, pieces: readonly Piece[]): void {
  if (pieces.length === 1 && !Buffer.isBuffer(pieces[0]) && pieces[0]!.start === 0 && pieces[0]!.end === body.length - 1) {
    res.end(body); // the common case: one write, head and body together
    return;
  }
  for (const piece of pieces) res.write(Buffer.isBuffer(piece) ? piece : body.subarray(piece.start, piece.end + 1));
  res.end();
}
