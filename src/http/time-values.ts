/**
 * nginx's time variables (https://nginx.org/en/docs/http/ngx_http_core_module.html#variables):
 * $msec (seconds with milliseconds), $time_iso8601 and $time_local (local time with its
 * offset). The two dates change once a second: formatted then, not per request.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

let second = -1;
let iso = '';
let local = '';

function refresh(): void {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s === second) return;
  second = s;
  const d = new Date(now);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const hh = p2(Math.floor(Math.abs(offset) / 60));
  const mm = p2(Math.abs(offset) % 60);
  const clock = `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  iso = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${clock}${sign}${hh}:${mm}`;
  local = `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${clock} ${sign}${hh}${mm}`;
}

/** "1700000000.123" */
export function msec(): string {
  return (Date.now() / 1000).toFixed(3);
}

/** "2026-12-07T03:16:33+00:00" */
export function timeIso8601(): string {
  refresh();
  return iso;
}

/** "07/Dec/2026:03:16:33 +0000" */
export function timeLocal(): string {
  refresh();
  return local;
}
