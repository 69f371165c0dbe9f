// WriterBase (src/http/response-writer.ts): what every binding counts in one place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingWriter } from '../helpers/recording-writer.js';

test('body bytes are counted for the access log: not for HEAD, 1xx, 204 or 304', () => {
  const ok = new RecordingWriter();
  ok.writeHead(200, '', ['Content-Length', '9']);
  ok.write(Buffer.from('abcd'));
  ok.end('efghi');
  assert.equal(ok.bytesSent, 9);
  assert.equal(ok.status, 200);
  const head = new RecordingWriter(true);
  head.writeHead(200, '', []);
  head.end('ignored');
  assert.equal(head.bytesSent, 0);
  for (const status of [101, 204, 304]) {
    const w = new RecordingWriter();
    w.writeHead(status, '', []);
    w.end(Buffer.from('no body'));
    assert.equal(w.bytesSent, 0, String(status));
    assert.equal(w.status, status);
  }
  const multi = new RecordingWriter();
  multi.writeHead(200, '', []);
  multi.end('é'); // counted in bytes, not characters
  assert.equal(multi.bytesSent, 2);
});

test('a head the binding refuses changes nothing: the status stays', () => {
  const w = new RecordingWriter();
  const refusing = Object.assign(w, {
    sendHead() {
      throw new Error('refused');
    },
  });
  assert.throws(() => refusing.writeHead(302, '', ['Location', 'x']), /refused/);
  assert.equal(w.status, 200);
});

test('close listeners run once, in order; removed ones and ones added after the end do not', () => {
  const w = new RecordingWriter();
  const calls: string[] = [];
  const removed = () => calls.push('removed');
  w.onClose(() => calls.push('a'));
  w.onClose(removed);
  w.onClose(() => calls.push('b'));
  w.offClose(removed);
  w.writeHead(200, '', []);
  w.end();
  w.destroy(); // closes again: nothing runs twice
  w.onClose(() => calls.push('late'));
  assert.deepEqual(calls, ['a', 'b']);
});

test('drain listeners run once, at the next drain', () => {
  class Draining extends RecordingWriter {
    drain(): void {
      this.drained();
    }
  }
  const w = new Draining();
  const calls: string[] = [];
  w.onDrain(() => calls.push('first'));
  w.onDrain(() => calls.push('second'));
  w.drain();
  w.drain();
  w.onDrain(() => calls.push('third'));
  w.drain();
  assert.deepEqual(calls, ['first', 'second', 'third']);
});
