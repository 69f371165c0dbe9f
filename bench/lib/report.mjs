// Markdown output: one table per scenario, and the machine the figures come from.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return 'not found';
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0];
}

export function machineInfo() {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {}
  const nproc = firstLine('nproc', []);
  const git = firstLine('git', ['-C', new URL('../..', import.meta.url).pathname, 'describe', '--always', '--dirty']);
  return [
    `- portico: git ${git}`,
    `- date: ${new Date().toISOString()}; load average before the run: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `- nproc: ${nproc === 'not found' ? availableParallelism() : nproc}; CPU: ${cpu}`,
    `- node ${process.version}; ${firstLine('nginx', ['-v'])}; caddy ${firstLine('caddy', ['version'])}; ${firstLine('wrk', ['-v']).replace(/ Copyright.*/, '')}`,
  ].join('\n');
}

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');
const fmtMs = (n) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)) + ' ms' : '-');

function errorText(r) {
  const e = r.errors;
  const parts = [];
  for (const k of ['connect', 'read', 'write', 'timeout']) if (e[k]) parts.push(`${k} ${e[k]}`);
  if (r.non2xx) parts.push(`non-2xx/3xx ${r.non2xx}`);
  return parts.length ? parts.join(', ') : '0';
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** rows: [{ proxy, result?, failed?, rssKiB, cpuSeconds, round?, load? }] (round and load with BENCH_ROUNDS > 1) */
export function table(scenario, rows) {
  const rounds = rows.some((r) => r.round !== undefined);
  const lines = [
    `### (${scenario.id}) ${scenario.title}`,
    '',
    `\`${scenario.wrk}\``,
    '',
    `| proxy |${rounds ? ' round | load 1m |' : ''} req/s | MiB/s | p50 | p99 | errors | peak RSS MiB | req per CPU-s | vs nginx | vs nginx per core |`,
    `|---|${rounds ? '--:|--:|' : ''}--:|--:|--:|--:|---|--:|--:|--:|--:|`,
  ];
  const perCpu = (row) => (row.cpuSeconds > 0 ? row.result.requests / row.cpuSeconds : NaN);
  // Each row against nginx's row of the same round (the machine's load drifts between rounds).
  const nginxOf = (row) => rows.find((r) => r.proxy === 'nginx' && r.result && r.round === row.round);
  for (const row of rows) {
    const roundCells = rounds ? ` ${row.round ?? ''} | ${row.load === undefined ? '' : row.load.toFixed(2)} |` : '';
    if (!row.result) {
      lines.push(`| ${row.proxy} |${roundCells} failed: ${row.failed ?? 'no result'} | | | | | | | | |`);
      continue;
    }
    const r = row.result;
    const n = nginxOf(row);
    lines.push(
      `| ${row.proxy} |${roundCells} ${fmt(r.rps)} | ${fmt(r.bytesPerSec / 1024 ** 2, 1)} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${errorText(r)} | ${fmt(row.rssKiB / 1024, 1)} | ${fmt(perCpu(row))} | ${ratio(r.rps, n?.result.rps)} | ${ratio(perCpu(row), n ? perCpu(n) : NaN)} |`,
    );
  }
  if (rounds) lines.push('', ...medians(rows, perCpu, (r) => r.p99, 'p99'));
  if (scenario.note) lines.push('', scenario.note);
  return lines.join('\n');
}

const ratio = (x, base) => (base > 0 && Number.isFinite(x) ? fmt(x / base, 2) + 'x' : '-');

/**
 * With BENCH_ROUNDS: per proxy the medians of its rounds, and the ratios of those medians to
 * nginx's (req/s, and req per CPU-s: "per core").
 */
function medians(rows, perCpu, latency, latencyName) {
  const out = [`| proxy | rounds | median req/s | median req per CPU-s | median ${latencyName} | vs nginx | vs nginx per core |`, '|---|--:|--:|--:|--:|--:|--:|'];
  const med = (proxy) => {
    const ok = rows.filter((r) => r.proxy === proxy && r.result);
    return { n: ok.length, rps: median(ok.map((r) => r.result.rps)), cpu: median(ok.map(perCpu)), lat: median(ok.map((r) => latency(r.result))) };
  };
  const base = med('nginx');
  for (const proxy of [...new Set(rows.map((r) => r.proxy))]) {
    const m = med(proxy);
    out.push(`| ${proxy} | ${m.n} | ${fmt(m.rps)} | ${fmt(m.cpu)} | ${fmtMs(m.lat)} | ${ratio(m.rps, base.rps)} | ${ratio(m.cpu, base.cpu)} |`);
  }
  return out;
}

/** (h2) HTTP/2 with h2load. rows as in table(); result from parseH2load (mean and max latency: h2load reports no percentiles). */
export function h2Table(scenario, rows) {
  const rounds = rows.some((r) => r.round !== undefined);
  const perCpu = (row) => (row.cpuSeconds > 0 ? row.result.requests / row.cpuSeconds : NaN);
  const nginxOf = (row) => rows.find((r) => r.proxy === 'nginx' && r.result && r.round === row.round);
  const lines = [
    `### (${scenario.id}) ${scenario.title}`,
    '',
    `\`${scenario.cmd}\``,
    '',
    `| proxy |${rounds ? ' round | load 1m |' : ''} req/s | MiB/s | mean | max | errors | protocol, cipher | peak RSS MiB | req per CPU-s | vs nginx | vs nginx per core |`,
    `|---|${rounds ? '--:|--:|' : ''}--:|--:|--:|--:|---|---|--:|--:|--:|--:|`,
  ];
  for (const row of rows) {
    const roundCells = rounds ? ` ${row.round ?? ''} | ${row.load === undefined ? '' : row.load.toFixed(2)} |` : '';
    if (!row.result) {
      lines.push(`| ${row.proxy} |${roundCells} failed: ${row.failed ?? 'no result'} | | | | | | | | | |`);
      continue;
    }
    const r = row.result;
    const errs = [r.failed ? `failed ${r.failed}` : '', r.non2xx ? `non-2xx ${r.non2xx}` : ''].filter(Boolean).join(', ') || '0';
    const n = nginxOf(row);
    lines.push(
      `| ${row.proxy} |${roundCells} ${fmt(r.rps)} | ${fmt(r.bytesPerSec / 1024 ** 2, 1)} | ${fmtMs(r.mean)} | ${fmtMs(r.max)} | ${errs} | ${r.protocol ?? '?'}, ${r.cipher ?? '?'} | ${fmt(row.rssKiB / 1024, 1)} | ${fmt(perCpu(row))} | ${ratio(r.rps, n?.result.rps)} | ${ratio(perCpu(row), n ? perCpu(n) : NaN)} |`,
    );
  }
  if (rounds) lines.push('', ...medians(rows, perCpu, (r) => r.mean, 'mean'));
  if (scenario.note) lines.push('', scenario.note);
  return lines.join('\n');
}

const errorList = (e) => {
  const parts = Object.entries(e ?? {})
    .filter(([, v]) => v)
    .map(([k, v]) => `${k} ${fmt(v)}`);
  return parts.length ? parts.join(', ') : '0';
};

/** (g) WebSocket echo. rows: [{ proxy, result?, failed?, rssKiB, cpuSeconds }], result from ws-load --json. */
export function wsTable(scenario, rows) {
  const base = rows.find((r) => r.proxy === 'nginx' && r.result)?.result.rate;
  const lines = [
    `### (${scenario.id}) ${scenario.title}`,
    '',
    `\`${scenario.cmd}\``,
    '',
    '| proxy | messages/s | p50 | p99 | errors | peak RSS MiB | msgs per CPU-s | vs nginx |',
    '|---|--:|--:|--:|---|--:|--:|--:|',
  ];
  for (const row of rows) {
    if (!row.result) {
      lines.push(`| ${row.proxy} | failed: ${row.failed ?? 'no result'} | | | | | | | |`);
      continue;
    }
    const r = row.result;
    const perCpu = row.cpuSeconds > 0 ? r.messages / row.cpuSeconds : NaN;
    const errs = { ...r.errors };
    if (r.opened < r.connections) errs['not connected'] = r.connections - r.opened;
    lines.push(
      `| ${row.proxy} | ${fmt(r.rate)} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${errorList(errs)} | ${fmt(row.rssKiB / 1024, 1)} | ${fmt(perCpu)} | ${base ? fmt(r.rate / base, 2) + 'x' : '-'} |`,
    );
  }
  if (scenario.note) lines.push('', scenario.note);
  return lines.join('\n');
}

/** (m1, m2) memory per connection. rows: [{ proxy, result?, failed? }], result from measureConnections. */
export function memTable(scenario, rows) {
  const lines = [
    `### (${scenario.id}) ${scenario.title}`,
    '',
    '| proxy | held | RSS at rest after start MiB | RSS before MiB | RSS held MiB | KiB per connection | proxy fds held / after close | time to open | errors |',
    '|---|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const row of rows) {
    if (!row.result) {
      lines.push(`| ${row.proxy} | failed: ${row.failed ?? 'no result'} | | | | | | | |`);
      continue;
    }
    const r = row.result;
    const rssHeld = fmt(r.rssHeld / 1024, 1) + (r.rssStable ? '' : ' (not settled)');
    lines.push(
      `| ${row.proxy} | ${fmt(r.held)} / ${fmt(r.n)} | ${fmt(r.rssRest / 1024, 1)} | ${fmt(r.rssBefore / 1024, 1)} | ${rssHeld} | ${fmt(r.perConnKiB, 1)} | ${fmt(r.fdsHeld)} / ${fmt(r.fdsAfter)} | ${fmt(r.openMs / 1000, 1)} s | ${errorList(r.errors)} |`,
    );
  }
  if (scenario.note) lines.push('', scenario.note);
  return lines.join('\n');
}
