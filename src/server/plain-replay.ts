/**
 * An Upgrade request that its route does not tunnel is served as a plain request, as nginx
 * serves one when its config does not pass `Upgrade` on. node's server has already taken it
 * as an upgrade by then: it stopped parsing after the head and handed over the socket with
 * whatever followed (a body, pipelined requests) unread. So the head is written again without
 * its Upgrade fields, the unread bytes after it, and node's server takes the connection anew
 * (as the lean path hands connections over): the request's body, keep-alive and everything
 * after it are then framed by node's parser like any other request's.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export function replayWithoutUpgrade(req: IncomingMessage, socket: Socket, unread: Buffer, handOff: (socket: Socket) => void): void {
  // node validated every name and value; latin1 gives back the bytes it read.
  let head = `${req.method} ${req.url} HTTP/1.${req.httpVersionMinor}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 7 && name.toLowerCase() === 'upgrade') continue;
    head += `${name}: ${raw[i + 1]}\r\n`;
  }
  const bytes = Buffer.from(head + '\r\n', 'latin1');
  socket.unshift(unread.length === 0 ? bytes : Buffer.concat([bytes, unread]));
  handOff(socket);
  if (socket.isPaused()) socket.resume();
}
