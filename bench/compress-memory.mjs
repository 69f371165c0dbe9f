#!/usr/bin/env node
// What one compressing response costs in memory (src/filters/compress-codings.ts): N encoders
// made as the filter makes them, each fed 64 KiB of JSON-like text and left open (the state a
// response holds while it streams), RSS measured before and after, per coding at its default
// level, for a body of unknown length (the largest window) and for a 2 KiB body of known length.
//   Run: npx tsc -p . && node --expose-gc bench/compress-memory.mjs     (COMPRESS_ENCODERS=200)
import { readFileSync } from 'node:fs';
import { createEncoder, AVAILABLE_CODINGS } from '../dist/src/filters/compress-codings.js';
import { DEFAULT_COMPRESS_LEVEL } from '../dist/src/config/compress-schema.js';
import { jsonBody } from './lib/servers.mjs';

const N = Number(process.env.COMPRESS_ENCODERS) || 200;
const text = Buffer.from(jsonBody(64 * 1024));
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const settle = () => new Promise((r) => setTimeout(r, 200));

async function measure(coding, length) {
  globalThis.gc?.();
  await settle();
  const before = rss();
  const encoders = [];
  let out = 0;
  for (let i = 0; i < N; i++) {
    const enc = createEncoder(coding, DEFAULT_COMPRESS_LEVEL[coding], length, false);
    enc.on('data', (c) => (out += c.length));
    enc.write(length > 0 ? text.subarray(0, length) : text);
    encoders.push(enc);
  }
  // Let the threadpool compress what was written (the streams stay open, their state allocated).
  await new Promise((r) => setTimeout(r, 1500));
  globalThis.gc?.();
  const held = rss();
  for (const e of encoders) e.destroy();
  await settle();
  return { coding, length, kib: (held - before) / N, out };
}

console.log(`| coding | level | body | KiB per open encoder (RSS, ${N} encoders) |\n|---|--:|---|--:|`);
for (const coding of AVAILABLE_CODINGS)
  for (const length of [-1, 2048]) {
    const r = await measure(coding, length);
    console.log(`| ${coding} | ${DEFAULT_COMPRESS_LEVEL[coding]} | ${length < 0 ? 'unknown length (64 KiB written)' : '2 KiB, length known'} | ${r.kib.toFixed(0)} |`);
  }
