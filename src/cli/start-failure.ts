/**
 * A start that failed, as one line a person can act on: the config line the failure comes
 * from, what happened and what to do ("portico.yaml:3:15: servers[0].listen[0]: 127.0.0.1:80
 * is already in use by nginx (pid 812)"), never a stack trace.
 */
import { ConfigError, StartError } from '../errors.js';
import type { LoadedConfig } from '../config/load.js';
import { parseListen, type ListenAddress } from '../config/address.js';
import { ListenError } from '../server/listeners.js';
import { describeOwners } from './port-owner.js';

export function startFailure(err: unknown, loaded: Pick<LoadedConfig, 'config' | 'file' | 'locate'>): ConfigError {
  if (err instanceof ConfigError) return err;
  if (err instanceof StartError) return new ConfigError([`${loaded.locate(err.where)}: ${err.where}: ${err.detail}`]);
  if (err instanceof ListenError) {
    const { where, note } = listenOrigin(loaded.config, err.key);
    return new ConfigError([`${where ? `${loaded.locate(where)}: ${where}` : loaded.file}: ${listenProblem(err)}${note}`]);
  }
  const e = err as Error;
  return new ConfigError([`${loaded.file}: could not start: ${e?.message ?? String(err)}; if the message does not say what to change, this is a Portico bug: please report it`]);
}

function shown(a: ListenAddress): string {
  const host = a.host === undefined ? '*' : a.host.includes(':') ? `[${a.host}]` : a.host;
  return `${host}:${a.port}`;
}

function listenProblem(err: ListenError): string {
  const at = shown(err.address);
  switch (err.code) {
    case 'EADDRINUSE':
      return `${at} is already in use ${describeOwners(err.address.port)}`;
    case 'EACCES':
      return `binding ${at} needs root or the CAP_NET_BIND_SERVICE capability (ports below 1024; contrib/portico.service grants it), or a port above 1023`;
    case 'EADDRNOTAVAIL':
      return `${at}: ${err.address.host} is not an address of this machine`;
    default:
      return `cannot listen on ${at}: ${err.message}`;
  }
}

/** The config key a listener comes from: a `listen` entry, or a server's HTTP->HTTPS redirect. */
function listenOrigin(config: LoadedConfig['config'], key: string): { where: string | undefined; note: string } {
  const keyOf = (a: ListenAddress) => `${a.host ?? '*'}:${a.port}`;
  const entries = <T>(v: T | T[]) => (Array.isArray(v) ? v.map((x, i): [T, string] => [x, `[${i}]`]) : [[v, ''] as [T, string]]);
  for (const [si, server] of config.servers.entries()) {
    for (const [text, index] of entries(server.listen)) if (keyOf(parseListen(text)!) === key) return { where: `servers[${si}].listen${index}`, note: '' };
  }
  for (const [si, server] of config.servers.entries()) {
    const redirect = server.http_redirect;
    if (redirect !== undefined && redirect !== false) {
      for (const [text, index] of entries(redirect)) if (keyOf(parseListen(text)!) === key) return { where: `servers[${si}].http_redirect${index}`, note: '' };
    } else if (redirect === undefined) {
      // The implied redirect from port 80 of a server on port 443 (tls-plan.ts).
      for (const [text, index] of entries(server.listen)) {
        const a = parseListen(text)!;
        if (a.port === 443 && keyOf({ host: a.host, port: 80 }) === key)
          return { where: `servers[${si}].listen${index}`, note: ` (the HTTP->HTTPS redirect a server on port 443 gets; http_redirect: false turns it off)` };
      }
    }
  }
  return { where: undefined, note: '' };
}
