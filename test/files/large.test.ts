/**
 * A large file is streamed with backpressure: a client that stops reading stops the reads
 * from disk (bounded by socket buffers, not by the file), and the whole file still arrives
 * intact when it reads on. The file is 1 GiB and sparse, so it costs no disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { connect } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { nodeFs, type FsBinding } from '../../src/files/fs-binding.js';
import { makeSite, serveFiles, startBare } from './support.js';
import { within } from '../proxy/support.js';

const GIB = 1024 ** 3;

async function sparse(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  await fh.truncate(size);
  await fh.write(Buffer.from('END'), 0, 3, size - 3);
  await fh.close();
}

test('a paused client holds the server to a few MiB read from a 1 GiB file', async (t) => {
  const site = await makeSite();
  await sparse(join(site.root, 'huge.bin'), GIB);
  let bytesRead = 0;
  const fs: FsBinding = {
    ...nodeFs,
    read: (fd, buf, length, position, cb) =>
      nodeFs.read(fd, buf, length, position, (err, n) => {
        bytesRead += n;
        cb(err, n);
      }),
  };
  const bare = await startBare({ path: '/', files: { root: site.root } }, fs);
  t.after(async () => {
    await bare.close();
    await site.cleanup();
  });
  const socket = connect({ host: '127.0.0.1', port: bare.port });
  await once(socket, 'connect');
  socket.write('GET /huge.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  await once(socket, 'data');
  socket.pause();
  // Wait (bounded) for the reads to settle while the client reads nothing.
  let last = -1;
  for (let i = 0; i < 200 && bytesRead !== last; i++) {
    last = bytesRead;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(bytesRead < 64 * 1024 * 1024, `read ${bytesRead} bytes for a client that took almost none`);
  socket.destroy();
});

test('1 GiB through Portico: every byte arrives, memory stays flat', async (t) => {
  const site = await makeSite();
  await sparse(join(site.root, 'huge.bin'), GIB);
  const portico = await serveFiles('/', { root: site.root });
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  const socket = connect({ host: '127.0.0.1', port: portico.port });
  await once(socket, 'connect');
  socket.write('GET /huge.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  let total = 0;
  let head = '';
  let tail: Buffer = Buffer.alloc(0);
  let peak = 0;
  const baseline = process.memoryUsage().arrayBuffers;
  socket.on('data', (chunk: Buffer) => {
    if (head === '' || !head.includes('\r\n\r\n')) {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end >= 0) total += Buffer.byteLength(head, 'latin1') - end - 4;
    } else total += chunk.length;
    tail = Buffer.concat([tail, chunk.subarray(-3)]).subarray(-3);
    if (total % (64 * 1024 * 1024) < chunk.length) peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
  });
  await within(once(socket, 'end'), 60_000, 'the whole file');
  assert.match(head, /^HTTP\/1\.1 200 /);
  assert.match(head, new RegExp(`content-length: ${GIB}\\r\\n`, 'i'));
  assert.equal(total, GIB);
  assert.equal(tail.toString(), 'END');
  assert.ok(peak < 256 * 1024 * 1024, `array buffers grew by ${peak} bytes`);
});

test('a file that shrinks while it is sent: the response is cut (its length was promised) and logged', async (t) => {
  const site = await makeSite();
  const path = join(site.root, 'shrinks.bin');
  await sparse(path, 64 * 1024 * 1024);
  const portico = await serveFiles('/', { root: site.root });
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  const socket = connect({ host: '127.0.0.1', port: portico.port });
  await once(socket, 'connect');
  socket.write('GET /shrinks.bin HTTP/1.1\r\nHost: a\r\n\r\n');
  let received = 0;
  socket.on('data', (chunk: Buffer) => (received += chunk.length));
  await once(socket, 'data');
  socket.pause();
  const fh = await open(path, 'r+');
  await fh.truncate(0);
  await fh.close();
  socket.resume();
  await within(once(socket, 'close'), 30_000, 'the cut connection');
  assert.ok(received < 64 * 1024 * 1024, `received ${received} bytes`);
  assert.ok(portico.errors.some((e) => e.msg === 'file read failed' && String(e.err).includes('shrank')), JSON.stringify(portico.errors));
});
