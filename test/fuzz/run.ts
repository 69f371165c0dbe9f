/**
 * The runner of the differential fuzzer: one recording origin per proxy, Portico (in-process,
 * an HTTP/1.1 listener and an HTTP/2-over-TLS one) and a real nginx configured as the same
 * reverse proxy; two "victim" clients that keep asking Portico for their own resources the
 * whole time; then case after case, each sent to Portico and nginx at once and judged by the
 * oracle. Everything is on loopback, every wait is bounded, the run stops at its time limit.
 */
import { connect, type Socket } from 'node:net';
import { connect as h2connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRecordingOrigin, jsonAnswer, type OriginRequest, type RecordingOrigin } from '../helpers/recording-origin.js';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS, type TestNginx } from '../helpers/nginx.js';
import { closedPort } from '../proxy/support.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';
import { generateCase, hasLabel, HOST, type Case, type H1Case, type H2Case } from './generate.js';
import { escape, expectedH1, expectedH2, judge, readResponses, type Observation, type Problem, type Verdict } from './oracle.js';

export interface FuzzOptions {
  seed: number;
  /** Stop starting cases after this long (the case under way finishes, bounded). */
  seconds: number;
  /** Replay only these case indexes. */
  cases?: number[];
  /** Where findings are written (one JSON file each); none: not written. */
  findingsDir?: string;
  /** Without nginx (not installed): the oracle alone, no "differs from nginx". */
  nginx?: boolean;
  /** How long a complete request may go unanswered with the connection open. */
  stallMs?: number;
  /** How long a victim waits for its answer (default 5 s). */
  victimTimeoutMs?: number;
  h2Share?: number;
  /** Leave out cases with a label starting with one of these (e.g. KNOWN_BUG_LABELS). */
  skip?: readonly string[];
  log?: (line: string) => void;
}

export interface Finding extends Problem {
  seed: number;
  case: number;
  proxy: 'portico';
  /** Seconds into the run when it was first seen. */
  at: number;
  labels: string[];
  reproducer: Record<string, unknown>;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  /** Generated but left out (FuzzOptions.skip). */
  skipped: number;
  h1: number;
  h2: number;
  seconds: number;
  findings: Finding[];
  /** Problems the same oracle sees in nginx (a check of the oracle, not findings). */
  nginxControl: Record<string, number>;
  /** Request outcomes compared, "Portico/nginx" -> count. */
  comparison: Record<string, number>;
  /** Both refused, with different statuses: "Portico status/nginx status" -> count. */
  statusPairs: Record<string, number>;
  /** Labels of the requests only Portico refused (Portico stricter than nginx): label -> count. */
  stricter: Record<string, number>;
  /** What node's HTTP/2 client refused to send. */
  h2Unsendable: Record<string, number>;
  victimRequests: number;
  table: string;
}

/** The origin's answer: JSON naming the request, and the misbehaviour real app servers show. */
const INJECTED_BODY = JSON.stringify({ seq: -1, method: 'INJECTED', target: '/__injected', connection: -1 });
const INJECTED = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${INJECTED_BODY.length}\r\n\r\n${INJECTED_BODY}`;

export function fuzzAnswer(req: OriginRequest): string {
  // gunicorn sends a HEAD response's body anyway; here that body reads as a whole response.
  if (req.method === 'HEAD') return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${INJECTED.length}\r\n\r\n${INJECTED}`;
  if (req.target.includes('__204')) return `HTTP/1.1 204 No Content\r\n\r\n${INJECTED}`;
  if (req.target.includes('__extra')) return jsonAnswer(req) + INJECTED;
  return jsonAnswer(req);
}

type Routes = PorticoConfigInput['servers'][number]['routes'];

/** The Portico routes under test, and nginx's equivalent. */
function porticoRoutes(origin: string): Routes {
  return [
    { path: '/denied/', respond: { status: 403, body: 'denied\n' } },
    { path: '= /__health', respond: { status: 200, body: 'ok\n' } },
    { path: '/stream/', proxy: { to: origin, buffering: { request: false } } },
    { path: '/', proxy: { to: origin } },
  ];
}

function nginxConf(port: number, origin: number): string {
  return `worker_processes 1;
events { worker_connections 1024; }
http {
  ${TEMP_PATHS}
  access_log off;
  upstream origin { server 127.0.0.1:${origin}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    server_name _;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $host;
    location /denied/ { return 403 "denied\\n"; }
    location = /__health { return 200 "ok\\n"; }
    location /stream/ { proxy_request_buffering off; proxy_pass http://origin; }
    location / { proxy_pass http://origin; }
  }
}
`;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const isHarness = (o: OriginRequest) => o.target.startsWith('/__victim/') || o.target.startsWith('/__health');

// ---------------------------------------------------------------------------------------
// Sending one HTTP/1.1 case and watching what comes back.

interface Exchange1 {
  received: Buffer;
  closed: boolean;
  timedOut: boolean;
}

/**
 * Writes the case's bytes (split writes a little apart, so they arrive as separate reads),
 * then waits until `wanted` final responses came and a short linger passed (to catch an extra
 * response), the proxy closed, or `stallMs` passed. `incomplete`: the client never finishes
 * its last request, so waiting beyond the complete ones is no stall.
 */
async function exchangeH1(port: number, c: H1Case, methods: string[], wanted: number, incomplete: boolean, stallMs: number): Promise<Exchange1> {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  let received: Buffer = Buffer.alloc(0);
  let closed = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  socket.on('data', (d: Buffer) => {
    received = Buffer.concat([received, d]);
    notify();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    notify();
  });
  const connected = await Promise.race([
    new Promise<boolean>((r) => socket.once('connect', () => r(true))),
    new Promise<boolean>((r) => socket.once('close', () => r(false))),
    delay(stallMs).then(() => false),
  ]);
  if (!connected) {
    socket.destroy();
    return { received, closed: true, timedOut: false };
  }
  for (let i = 0; i < c.writes.length; i++) {
    if (closed) break;
    socket.write(c.writes[i]!);
    if (i < c.writes.length - 1) await delay(2);
  }
  const start = Date.now();
  let timedOut = false;
  let lingerUntil = 0;
  for (;;) {
    if (closed) break;
    const now = Date.now();
    const got = readResponses(received, methods, false);
    const done = got.responses.length >= wanted && got.rest !== 'partial';
    if (done) {
      if (lingerUntil === 0) lingerUntil = now + (incomplete ? 100 : 10);
      if (now >= lingerUntil) break;
    } else lingerUntil = 0;
    if (now - start >= stallMs) {
      timedOut = !incomplete;
      break;
    }
    const wait = done ? lingerUntil - now : stallMs - (now - start);
    await Promise.race([new Promise<void>((r) => (wake = r)), delay(Math.max(1, Math.min(wait, incomplete ? 100 : wait)))]);
    if (incomplete && !done && Date.now() - start >= 200 && readResponses(received, methods, false).responses.length >= wanted) break;
    if (incomplete && Date.now() - start >= 300) break;
  }
  socket.destroy();
  return { received, closed, timedOut };
}

/** Waits until the origin has seen no new request for `quiet` ms (bounded). */
async function settle(origin: RecordingOrigin, quiet = 15, bound = 1000): Promise<void> {
  const end = Date.now() + bound;
  // Victims keep the origin busy: only the case's own requests count.
  let seen = origin.requests.length;
  let count = 0;
  const fresh = () => {
    for (; seen < origin.requests.length; seen++) if (!isHarness(origin.requests[seen]!)) count++;
    return count;
  };
  let last = fresh();
  let since = Date.now();
  while (Date.now() < end) {
    await delay(5);
    if (fresh() !== last) {
      last = count;
      since = Date.now();
    } else if (Date.now() - since >= quiet) return;
  }
}

// ---------------------------------------------------------------------------------------
// HTTP/2 cases, over node's client.

/** A fresh session per case: a malformed stream may end its session (GOAWAY), and no case may depend on the one before. */
class H2Client {
  constructor(
    readonly port: number,
    readonly ca: string,
  ) {}

  session(): ClientHttp2Session {
    const s = h2connect(`https://localhost:${this.port}`, { ca: this.ca, host: '127.0.0.1', servername: 'localhost' });
    s.on('error', () => {});
    return s;
  }
}

interface Exchange2 {
  status?: number;
  error?: string;
  body: Buffer;
  sent?: [string, string][];
  timedOut: boolean;
  /** node's client refused to send it (the reason). */
  unsendable?: string;
}

async function exchangeH2(client: H2Client, c: H2Case, stallMs: number): Promise<Exchange2> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of c.headers) {
    const prev = headers[k];
    headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  let stream: ClientHttp2Stream;
  const session = client.session();
  try {
    stream = session.request(headers, { endStream: c.data.length === 0 });
  } catch (err) {
    session.destroy();
    return { body: Buffer.alloc(0), timedOut: false, unsendable: (err as { code?: string }).code ?? (err as Error).message };
  }
  return new Promise<Exchange2>((resolve) => {
    const chunks: Buffer[] = [];
    const out: Exchange2 = { body: Buffer.alloc(0), timedOut: false };
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      out.body = Buffer.concat(chunks);
      out.sent = Object.entries(stream.sentHeaders ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x): [string, string] => [k, String(x)]) : [[k, String(v)] as [string, string]]));
      stream.destroy();
      session.destroy();
      resolve(out);
    };
    const timer = setTimeout(() => {
      out.timedOut = true;
      finish();
    }, stallMs);
    stream.on('response', (h) => (out.status = Number(h[':status'])));
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', finish);
    stream.on('close', () => {
      if (stream.rstCode && stream.rstCode !== 0 && out.status === undefined) out.error = `RST ${stream.rstCode}`;
      finish();
    });
    stream.on('error', (err: Error & { code?: string }) => {
      out.error ??= err.code ?? err.message;
      finish();
    });
    const frames = c.data;
    let i = 0;
    const writeNext = () => {
      if (settled || stream.destroyed) return;
      if (i >= frames.length) return;
      const last = i === frames.length - 1;
      const frame = frames[i++]!;
      if (last) stream.end(frame);
      else stream.write(frame, () => setImmediate(writeNext));
    };
    writeNext();
  });
}

// ---------------------------------------------------------------------------------------
// Victims: clients that only ever ask for their own resources and must only ever get them.

class Victims {
  /** Each problem names the case under way when the victim sent its request. */
  problems: { case: number; detail: string; class: string }[] = [];
  requests = 0;
  currentCase = 0;
  #stopped = false;
  #loops: Promise<void>[] = [];

  constructor(
    public port: number,
    readonly timeoutMs = 5000,
  ) {}

  start(n: number): void {
    this.#stopped = false;
    this.#loops = [];
    for (let i = 0; i < n; i++) this.#loops.push(this.#loop(i));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }

  async #loop(id: number): Promise<void> {
    let n = 0;
    while (!this.#stopped) {
      const socket = connect({ host: '127.0.0.1', port: this.port });
      socket.setNoDelay(true);
      socket.on('error', () => {});
      let buf: Buffer = Buffer.alloc(0);
      let closed = false;
      let wake: (() => void) | undefined;
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        wake?.();
      });
      socket.on('close', () => {
        closed = true;
        wake?.();
      });
      while (!this.#stopped && !closed) {
        const target = `/__victim/v${id}/${n++}`;
        const during = this.currentCase;
        socket.write(`GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
        this.requests++;
        const end = Date.now() + this.timeoutMs;
        let answered = false;
        while (!closed && Date.now() < end) {
          const got = readResponses(buf, ['GET'], false);
          if (got.responses.length > 0 && got.rest !== 'partial') {
            const r = got.responses[0]!;
            buf = buf.subarray(got.used);
            if (r.origin?.target !== target)
              this.problems.push({
                case: during,
                class: 'cross-talk',
                detail: `victim asked for ${target} and got ${r.status} ${r.origin ? `${r.origin.method} ${r.origin.target} (origin request #${r.origin.seq})` : escape(r.body.subarray(0, 120))}`,
              });
            answered = true;
            break;
          }
          if (got.rest === 'garbage') {
            this.problems.push({ case: during, class: 'cross-talk', detail: `victim asked for ${target} and got bytes that are no response: ${got.garbage}` });
            closed = true;
            break;
          }
          await Promise.race([new Promise<void>((r) => (wake = r)), delay(50)]);
        }
        if (!answered && !closed) {
          this.problems.push({ case: during, class: 'victim-stall', detail: `victim asked for ${target} and got no answer in ${this.timeoutMs} ms` });
          break;
        }
        await delay(3);
      }
      socket.destroy();
      if (!this.#stopped) await delay(5);
    }
  }
}

async function health(port: number): Promise<boolean> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  let buf: Buffer = Buffer.alloc(0);
  return Promise.race([
    new Promise<boolean>((resolve) => {
      socket.on('connect', () => socket.write(`GET /__health HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`));
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (readResponses(buf, ['GET'], false).responses.length > 0) resolve(true);
      });
      socket.on('close', () => resolve(readResponses(buf, ['GET'], true).responses.length > 0));
    }),
    delay(3000).then(() => false),
  ]).finally(() => socket.destroy());
}

// ---------------------------------------------------------------------------------------

interface Rig {
  originP: RecordingOrigin;
  originN: RecordingOrigin | undefined;
  portico: TestPortico;
  porticoTls: TestPortico;
  nginx: TestNginx | undefined;
  nginxPort: number;
  h2: H2Client;
  dataDir: string;
}

async function startRig(useNginx: boolean): Promise<Rig> {
  const originP = await startRecordingOrigin(fuzzAnswer);
  const originN = useNginx ? await startRecordingOrigin(fuzzAnswer) : undefined;
  const dataDir = await mkdtemp(join(tmpdir(), 'portico-fuzz-'));
  const portico = await startPortico({ servers: [{ routes: porticoRoutes(originP.address) }] });
  const porticoTls = await startPortico({ data_dir: dataDir, servers: [{ tls: 'internal', routes: porticoRoutes(originP.address) }] });
  const ca = await readFile(join(dataDir, 'pki/authorities/local/root.crt'), 'utf8');
  let nginx: TestNginx | undefined;
  let nginxPort = 0;
  if (originN) {
    nginxPort = await closedPort();
    const prefix = await makePrefix({ 'nginx.conf': nginxConf(nginxPort, originN.port) });
    nginx = await startNginx(prefix, nginxPort);
  }
  return { originP, originN, portico, porticoTls, nginx, nginxPort, h2: new H2Client(porticoTls.port, ca), dataDir };
}

async function stopRig(rig: Rig): Promise<void> {
  await bounded(rig.portico.close());
  await bounded(rig.porticoTls.close());
  if (rig.nginx) {
    await rig.nginx.close();
    await rig.nginx.prefix.remove();
  }
  await rig.originP.close();
  await rig.originN?.close();
  await rm(rig.dataDir, { recursive: true, force: true });
}

/** A close that may wait on connections a case left open: at most 3 s. */
function bounded(p: Promise<void>): Promise<void> {
  return Promise.race([p.catch(() => {}), delay(3000)]);
}

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

/** Runs the fuzzer; see FuzzOptions. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  const stallMs = opts.stallMs ?? 2000;
  const useNginx = (opts.nginx ?? true) && haveNginx();
  const rig = await startRig(useNginx);
  const victims = new Victims(rig.portico.port, opts.victimTimeoutMs);
  victims.start(2);
  const findings: Finding[] = [];
  const seen = new Map<string, number>();
  const report: FuzzReport = {
    seed: opts.seed,
    cases: 0,
    skipped: 0,
    h1: 0,
    h2: 0,
    seconds: 0,
    findings,
    nginxControl: {},
    comparison: {},
    statusPairs: {},
    stricter: {},
    h2Unsendable: {},
    victimRequests: 0,
    table: '',
  };
  // A throw out of a request handler would end a real Portico process: it is a finding here.
  const recent = new Map<number, { c: Case; extra: Record<string, unknown> }>();
  let crashed: Error | undefined;
  const onCrash = (err: Error) => {
    crashed = err;
  };
  process.on('uncaughtException', onCrash);
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  if (opts.findingsDir) await mkdir(opts.findingsDir, { recursive: true });

  const record = async (c: Case, p: Problem, extra: Record<string, unknown>) => {
    const key = `${p.class}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    const f: Finding = { ...p, seed: opts.seed, case: c.index, proxy: 'portico', at: Number(elapsed().toFixed(2)), labels: c.labels, reproducer: reproducer(c, extra) };
    findings.push(f);
    if (count === 1) log(`finding ${p.severity} ${p.class} in case ${c.index} after ${f.at}s: ${p.detail}`);
    // Enough copies of one class to read; the rest are counted.
    if (opts.findingsDir && count <= 20) await writeFile(join(opts.findingsDir, `seed${opts.seed}-case${c.index}-${p.class}.json`), JSON.stringify(f, null, 2) + '\n');
  };

  try {
    let index = 0;
    const list = opts.cases;
    for (;;) {
      if (list ? index >= list.length : elapsed() >= opts.seconds) break;
      const caseIndex = list ? list[index]! : index;
      index++;
      const c = generateCase(opts.seed, caseIndex, opts.h2Share);
      if (opts.skip && hasLabel(c, opts.skip)) {
        report.skipped++;
        continue;
      }
      victims.currentCase = caseIndex;
      report.cases++;
      const victimMark = victims.problems.length;
      const caseStart = Date.now();
      let problems: Problem[];
      let extra: Record<string, unknown> = {};
      if (c.kind === 'h1') {
        report.h1++;
        ({ problems, extra } = await runH1(rig, c, stallMs, report));
      } else {
        report.h2++;
        ({ problems, extra } = await runH2(rig, c, stallMs, report));
      }
      if (process.env.FUZZ_DEBUG) log(`case ${c.index} ${c.kind} ${Date.now() - caseStart} ms ${c.labels.join(' ')}`);
      recent.set(caseIndex, { c, extra });
      if (recent.size > 100) recent.delete(recent.keys().next().value!);
      // A victim's problem belongs to the case under way when it sent its request.
      for (const v of victims.problems.slice(victimMark)) {
        const p: Problem = { class: v.class, severity: v.class === 'cross-talk' ? 'critical' : 'high', detail: `${v.detail} (seen during case ${caseIndex})` };
        const owner = recent.get(v.case);
        if (owner && v.case !== caseIndex) await record(owner.c, p, owner.extra);
        else problems.push(p);
      }
      if (crashed) {
        problems.push({ class: 'crash', severity: 'critical', detail: `an exception escaped Portico: ${crashed.stack ?? crashed.message}` });
        crashed = undefined;
      }
      if (report.cases % 25 === 0 || problems.some((p) => p.class === 'stall' || p.class === 'victim-stall')) {
        if (!(await health(rig.portico.port))) problems.push({ class: 'dead', severity: 'critical', detail: 'Portico no longer answers a health request' });
      }
      for (const p of problems) await record(c, p, extra);
      if (problems.some((p) => p.class === 'dead' || p.class === 'crash')) {
        // Start afresh so the run goes on (the in-process server may be in any state).
        await victims.stop();
        await bounded(rig.portico.close());
        rig.portico = await startPortico({ servers: [{ routes: porticoRoutes(rig.originP.address) }] });
        victims.port = rig.portico.port;
        victims.start(2);
      }
    }
  } finally {
    // The case time (throughput), not the shutdown's.
    report.seconds = Number(elapsed().toFixed(1));
    process.removeListener('uncaughtException', onCrash);
    await victims.stop();
    report.victimRequests = victims.requests;
    await stopRig(rig);
  }
  report.table = summaryTable(report);
  return report;
}

type Run = { problems: Problem[]; extra: Record<string, unknown> };

async function runH1(rig: Rig, c: H1Case, stallMs: number, report: FuzzReport): Promise<Run> {
  const { reading, expected } = expectedH1(c);
  const methods = expected.map((e) => e.method);
  const answerable = reading.closeAfter ?? reading.requests.length;
  const wanted = answerable + (reading.tail.kind === 'invalid' && reading.closeAfter === undefined ? 1 : 0);
  const incomplete = reading.tail.kind === 'incomplete';
  const markP = rig.originP.requests.length;
  const unframedP = rig.originP.unframed.length;
  const markN = rig.originN?.requests.length ?? 0;
  const unframedN = rig.originN?.unframed.length ?? 0;
  const [p, n] = await Promise.all([
    exchangeH1(rig.portico.port, c, methods, wanted, incomplete, stallMs),
    rig.nginx ? exchangeH1(rig.nginxPort, c, methods, wanted, incomplete, stallMs) : Promise.resolve(undefined),
  ]);
  await Promise.all([settle(rig.originP), rig.originN ? settle(rig.originN) : Promise.resolve()]);
  const obsP: Observation = {
    proxy: 'portico',
    ...p,
    origin: rig.originP.requests.slice(markP).filter((o) => !isHarness(o)),
    unframed: rig.originP.unframed.length - unframedP,
  };
  const unframedBytes = unframedView(rig.originP, unframedP);
  const verdictP = judge(c, expected, obsP, reading.tail, true);
  const problems = [...verdictP.problems];
  let verdictN: Verdict | undefined;
  if (n && rig.originN) {
    const obsN: Observation = { proxy: 'nginx', ...n, origin: rig.originN.requests.slice(markN), unframed: rig.originN.unframed.length - unframedN };
    verdictN = judge(c, expected, obsN, reading.tail, false);
    for (const f of verdictN.framingAccepted) verdictN.problems.push({ class: 'framing-accepted', severity: 'high', detail: `request ${f.index} (${f.reason})` });
    for (const pr of verdictN.problems) {
      bump(report.nginxControl, pr.class);
      if (process.env.FUZZ_DEBUG) console.log(`nginx control: case ${c.index} ${pr.class}: ${pr.detail}`);
      if (process.env.FUZZ_DEBUG === '2')
        console.log(JSON.stringify({ request: c.writes.map((w) => escape(w)).join(''), nginx: escape(n.received.subarray(0, 1500)), origin: obsN.origin.map(originView) }, null, 1));
    }
    compare(verdictP, verdictN, expected, problems, report, c.labels);
  }
  // Framing the reference refuses: a finding unless nginx took the same request (then both
  // readings agree and the reference is merely stricter than the RFC's MAYs).
  for (const f of verdictP.framingAccepted) {
    if (verdictN?.outcome.split(' ')[f.index] === 'F') bump(report.comparison, 'framing both accept');
    else problems.push({ class: 'framing-accepted', severity: 'high', detail: `forwarded request ${f.index}, which the reference refuses for its framing (${f.reason})${verdictN ? `; nginx answered ${verdictN.outcome.split(' ')[f.index]}` : ''}` });
  }
  return {
    problems,
    extra: {
      reference: { requests: reading.requests.length, tail: reading.tail, closeAfter: reading.closeAfter },
      portico: { outcome: verdictP.outcome, response: escape(p.received.subarray(0, 3000)), closed: p.closed, origin: obsP.origin.map(originView), unframed: unframedBytes },
      nginx: verdictN && n ? { outcome: verdictN.outcome, response: escape(n.received.subarray(0, 3000)), closed: n.closed } : undefined,
    },
  };
}

/**
 * nginx as the yardstick: a request Portico forwards while nginx refuses it with a 4xx is a
 * "differs from nginx" finding; the other differences are counted for the table.
 */
function compare(p: Verdict, n: Verdict, expected: readonly { invalid?: unknown }[], problems: Problem[], report: FuzzReport, labels: string[]): void {
  const po = p.outcome.split(' ');
  const no = n.outcome.split(' ');
  for (let i = 0; i < expected.length; i++) {
    const a = po[i] ?? '-';
    const b = no[i] ?? '-';
    const kind = (x: string) => (x === 'F' ? 'forward' : x === '-' ? 'none' : /^[45]/.test(x) ? 'refuse' : 'other');
    bump(report.comparison, `${kind(a)}/${kind(b)}`);
    if (kind(a) === 'refuse' && kind(b) === 'refuse' && a !== b) bump(report.statusPairs, `${a}/${b}`);
    if (kind(a) === 'refuse' && kind(b) === 'forward') for (const l of labels) bump(report.stricter, l);
    // 403 and the like are route decisions; a 400 is nginx refusing the request itself. When
    // the reference reads the request as valid, nginx is the stricter one: counted only.
    if (a === 'F' && b === '400') {
      if (expected[i]!.invalid) problems.push({ class: 'differs-from-nginx', severity: 'low', detail: `request ${i}: Portico forwarded it, nginx answered 400` });
      else bump(report.comparison, 'valid: forward/400 (nginx stricter)');
    }
  }
}

async function runH2(rig: Rig, c: H2Case, stallMs: number, report: FuzzReport): Promise<Run> {
  const mark = rig.originP.requests.length;
  const unframed = rig.originP.unframed.length;
  const ex = await exchangeH2(rig.h2, c, stallMs);
  if (ex.unsendable) {
    bump(report.h2Unsendable, ex.unsendable);
    return { problems: [], extra: {} };
  }
  await settle(rig.originP);
  // What node really sent (it adds :authority and :scheme when missing).
  const sent = ex.sent && ex.sent.length > 0 ? ex.sent : c.headers;
  const expected = expectedH2({ ...c, headers: sent });
  const obs: Observation = {
    proxy: 'portico',
    received: Buffer.alloc(0),
    closed: true,
    timedOut: ex.timedOut,
    origin: rig.originP.requests.slice(mark).filter((o) => !isHarness(o)),
    unframed: rig.originP.unframed.length - unframed,
    h2: { status: ex.status, error: ex.error, body: ex.body },
  };
  const verdict = judge(c, expected, obs, undefined, true);
  const problems = [...verdict.problems];
  for (const f of verdict.framingAccepted) problems.push({ class: 'framing-accepted', severity: 'high', detail: `forwarded a request the reference refuses for its framing (${f.reason})` });
  // The stream's own answer: the origin's JSON must name this stream's request.
  if (ex.body.length > 0 && ex.status === 200) {
    try {
      const j = JSON.parse(ex.body.toString('latin1')) as { seq: number; target: string };
      if (j.target === '/__injected' || !obs.origin.some((o) => o.seq === j.seq))
        problems.push({ class: 'cross-talk', severity: 'critical', detail: `the stream got the answer to ${j.target} (origin request #${j.seq})` });
    } catch {
      // not JSON: not the origin's answer
    }
  }
  // A malformed :path or :scheme (RFC 9113 §8.3.1) that Portico routes and forwards as the
  // same path changes no meaning (the route-bypass and target checks above would see it):
  // counted, not a finding.
  if (expected[0]!.invalid && obs.origin.length > 0 && !expected[0]!.invalid.framing) bump(report.comparison, `h2 ${expected[0]!.invalid.reason}: forwarded consistently`);
  return {
    problems,
    extra: {
      sent,
      portico: { outcome: verdict.outcome, status: ex.status, error: ex.error, body: escape(ex.body.subarray(0, 500)), origin: obs.origin.map(originView), unframed: unframedView(rig.originP, unframed) },
    },
  };
}

/** The last bytes of each origin connection that could not be framed since `mark`. */
function unframedView(origin: RecordingOrigin, mark: number): string[] | undefined {
  const list = origin.unframed.slice(mark);
  return list.length === 0 ? undefined : list.map((conn) => escape(origin.received[conn]!.subarray(-600)));
}

function originView(o: OriginRequest) {
  return { method: o.method, target: o.target, headers: o.headers, body: escape(o.body.subarray(0, 500)), bodyLength: o.body.length, connection: o.connection };
}

function reproducer(c: Case, extra: Record<string, unknown>): Record<string, unknown> {
  if (c.kind === 'h1')
    return {
      kind: 'h1',
      writes_base64: c.writes.map((w) => w.toString('base64')),
      escaped: c.writes.map((w) => escape(w)),
      ...extra,
    };
  return { kind: 'h2', headers: c.headers, data_base64: c.data.map((d) => d.toString('base64')), ...extra };
}

function summaryTable(r: FuzzReport): string {
  const lines: string[] = [];
  const rate = r.seconds > 0 ? (r.cases / r.seconds).toFixed(1) : '-';
  lines.push(
    `seed ${r.seed}: ${r.cases} cases (${r.h1} HTTP/1.1, ${r.h2} HTTP/2) in ${r.seconds} s = ${rate} cases/s; ${r.victimRequests} victim requests` +
      (r.skipped > 0 ? `; ${r.skipped} cases skipped` : ''),
  );
  lines.push('');
  const byClass = new Map<string, { n: number; first: Finding }>();
  for (const f of r.findings) {
    const e = byClass.get(f.class);
    if (e) e.n++;
    else byClass.set(f.class, { n: 1, first: f });
  }
  lines.push('findings (Portico)            count  severity  first case  first at');
  if (byClass.size === 0) lines.push('  none');
  for (const [cls, { n, first }] of byClass)
    lines.push(`  ${cls.padEnd(27)} ${String(n).padStart(5)}  ${first.severity.padEnd(8)}  ${String(first.case).padStart(10)}  ${first.at}s`);
  lines.push('');
  lines.push('request outcomes, Portico/nginx (forward = reached the origin, refuse = 4xx/5xx, none = no answer)');
  for (const [k, v] of Object.entries(r.comparison).sort((a, b) => b[1] - a[1])) lines.push(`  ${k.padEnd(20)} ${v}`);
  if (Object.keys(r.statusPairs).length > 0) {
    lines.push('both refused with different statuses (Portico/nginx; not findings)');
    for (const [k, v] of Object.entries(r.statusPairs).sort((a, b) => b[1] - a[1])) lines.push(`  ${k.padEnd(20)} ${v}`);
  }
  const stricter = Object.entries(r.stricter).sort((a, b) => b[1] - a[1]).slice(0, 12);
  if (stricter.length > 0) {
    lines.push('Portico refused, nginx forwarded (Portico stricter; labels of those cases, top 12)');
    for (const [k, v] of stricter) lines.push(`  ${k.padEnd(36)} ${v}`);
  }
  if (Object.keys(r.nginxControl).length > 0) {
    lines.push('the same oracle on nginx (a check of the oracle; not Portico findings)');
    for (const [k, v] of Object.entries(r.nginxControl).sort((a, b) => b[1] - a[1])) lines.push(`  ${k.padEnd(27)} ${v}`);
  }
  if (Object.keys(r.h2Unsendable).length > 0) {
    lines.push("HTTP/2 cases node's client refused to send");
    for (const [k, v] of Object.entries(r.h2Unsendable)) lines.push(`  ${k.padEnd(40)} ${v}`);
  }
  return lines.join('\n');
}
