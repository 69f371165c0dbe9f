/**
 * Run by client-choice.test.ts in a process of its own (the client is chosen once per process,
 * from the environment): starts Portico twice in front of an echo upstream, sends GETs on one
 * kept-alive connection and a POST, and prints what it saw as one JSON line.
 */
import { startPortico } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { RawClient } from '../proxy/support.js';
import { leanStats } from '../../src/server/lean/lean-connection.js';
import { upstreamClient } from '../../src/upstream/pool.js';

const upstream = await startUpstream();
const warnings: string[] = [];
const statuses: number[] = [];
let connections = 0;
upstream.server.on('connection', () => connections++);
// A second start (a reload compiles anew) must not say it again.
for (let round = 0; round < 2; round++) {
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: upstream.address } }] }] });
  const client = await RawClient.connect(portico.port);
  for (let i = 0; i < 3; i++) {
    client.write(`GET /get/${round}/${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
    statuses.push((await client.response()).status);
  }
  client.write(`POST /post/${round} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello`);
  statuses.push((await client.response()).status);
  client.destroy();
  for (const e of portico.errors) if (e.level === 40 || e.level === 'warn') warnings.push(String(e.msg));
  await portico.close();
}
const bodies = upstream.seen.map((s) => `${s.method} ${s.url} ${s.body.toString()}`);
await upstream.close();
console.log(JSON.stringify({ upstreamClient, warnings, statuses, lean: leanStats.requests, connections, bodies }));
