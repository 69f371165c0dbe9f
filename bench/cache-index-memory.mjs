#!/usr/bin/env node --expose-gc
// What one node of a cache zone's index costs on V8's heap (src/cache/cache-index.ts NODE_BYTES):
// 100,000 nodes with keys like nginx's default ($scheme$proxy_host$request_uri), heap measured
// after a full GC before and after. Run: npx tsc -p . && node --expose-gc bench/cache-index-memory.mjs
import { CacheIndex, IndexEntry } from '../dist/src/cache/cache-index.js';
import { keyHash } from '../dist/src/cache/key.js';
const N = 100000;
global.gc(); global.gc();
const before = process.memoryUsage().heapUsed;
const idx = new CacheIndex(Infinity, Infinity, () => {});
let keyLen = 0;
for (let i = 0; i < N; i++) {
  const key = `http://example.com/articles/${i}/some-slug-here?page=${i % 7}`;
  keyLen += key.length;
  const e = new IndexEntry(0, keyHash(key), key); e.expires = Date.now() + 1e6; e.stored = Date.now(); e.size = 1300; e.status = 200; idx.set(e, Date.now());
}
global.gc(); global.gc();
const after = process.memoryUsage().heapUsed;
console.log('heap bytes per node (node, Map slot, hash and key strings):', ((after - before) / N).toFixed(1), '; avg key length', (keyLen / N).toFixed(1), '; counted by the index:', (idx.bytes / N).toFixed(1));
