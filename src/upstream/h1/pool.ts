/** Connections parsed by node's own HTTP parser (connection.ts), pooled per upstream address. */
import { ConnectionPool } from '../connection-pool.js';
import { UpstreamConnection } from './connection.js';

export class H1Pool extends ConnectionPool<UpstreamConnection> {
  protected dial(): UpstreamConnection {
    return new UpstreamConnection(this.transport, this.options.connectTimeout, this.options.keepAliveTimeout, this);
  }
}
