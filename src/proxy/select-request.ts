/** The request as the selection policies see it (client address, URI, headers, cookie). */
import type { Exchange } from '../http/exchange.js';
import type { SelectRequest } from '../upstream/selection/policy.js';

export class ExchangeSelectRequest implements SelectRequest {
  constructor(readonly ex: Exchange) {}

  get clientIp(): string {
    return this.ex.clientIp;
  }

  get uri(): string {
    return this.ex.req.url ?? '/';
  }

  get secure(): boolean {
    return this.ex.scheme === 'https';
  }

  header(name: string): string | undefined {
    const v = this.ex.req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  setCookie(value: string): void {
    this.ex.setCookie = value;
  }
}
