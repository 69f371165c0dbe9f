/**
 * `ip_hash`: the client address picks the server (rendezvous hashing), so one client keeps
 * landing on the same server while it is available, and when it is not only that server's
 * clients move. Behind trusted_proxies the forwarded client address is used. Unlike nginx,
 * the whole address is hashed (nginx uses an IPv4 address's first three octets).
 */
import type { Candidate, SelectRequest, SelectionPolicy } from './policy.js';
import { rendezvous } from './rendezvous.js';

export class IpHash implements SelectionPolicy {
  select<C extends Candidate>(candidates: readonly C[], req: SelectRequest): C | undefined {
    return rendezvous(candidates, req.clientIp);
  }
}
