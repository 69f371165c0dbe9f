/**
 * Selection policies: which server of a pool gets a request. Each policy is one small file
 * behind this one interface, and all of them pass test/upstream/selection/policy.suite.ts.
 * A policy only ever returns a candidate whose `available()` is true (healthy, not down,
 * not at max_conns); everything else about health lives outside it.
 */

/** What a policy sees of a server. */
export interface Candidate {
  /** The address ("127.0.0.1:8001"), stable across reloads: hash policies key on it. */
  readonly key: string;
  readonly weight: number;
  /** Requests in flight on the server. */
  readonly inFlight: number;
  available(): boolean;
}

/** What a policy may read of the request, and the one thing it may write (a cookie). */
export interface SelectRequest {
  /** The client address (behind trusted_proxies, the forwarded one). */
  readonly clientIp: string;
  /** Path and query as received. */
  readonly uri: string;
  /** Whether the client connection is TLS (cookies get `Secure`). */
  readonly secure: boolean;
  /** A request header by lower-case name; repeated headers joined with ", ". */
  header(name: string): string | undefined;
  /** Adds a Set-Cookie value to the response; a later call replaces an earlier one. */
  setCookie(value: string): void;
}

export interface SelectionPolicy {
  select<C extends Candidate>(candidates: readonly C[], req: SelectRequest): C | undefined;
}

/** What policies may depend on; injected so tests are deterministic. */
export interface PolicyDeps {
  /** Uniform in [0, 1). */
  random(): number;
}

export const defaultPolicyDeps: PolicyDeps = { random: Math.random };

/** The value of cookie `name` in a Cookie header, undefined when absent. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
