/**
 * `files`: serves a directory from disk (nginx root/alias/index/try_files/autoindex, Caddy
 * file_server). The order a GET or HEAD goes through:
 *   1. map the path onto the disk (root or alias) and refuse unsafe paths (400) and hidden ones (404);
 *   2. find the file: try_files candidates, or the path itself (a directory without "/" -> 301,
 *      with "/" -> index files, then a listing if `browse`);
 *   3. pick a precompressed sidecar the client accepts;
 *   4. preconditions (304 / 412), then Range (206 / 416);
 *   5. send from memory (small files) or stream from an open descriptor.
 * A 404 becomes the `fallback` proxy when there is one; so do methods other than GET and HEAD,
 * which are otherwise 405. Everything per route is decided here, at compile time.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { FilesConfig } from '../config/schema.js';
import type { LocationSpec } from '../config/location-syntax.js';
import type { Exchange } from '../http/exchange.js';
import type { ErrorLog } from '../log/error-log.js';
import type { UpstreamPools } from '../upstream/pool.js';
import { encodePath } from '../http/normalize-path.js';
import { checkRelative, compilePathMap, joinInside } from '../files/resolve-path.js';
import { FileCache, inside, type FileEntry } from '../files/file-cache.js';
import { nodeFs, type FsBinding } from '../files/fs-binding.js';
import { evaluatePreconditions, ifRangeAllows, type Validators } from '../files/conditional.js';
import { byteranges, parseRange, type Piece } from '../files/range.js';
import { codingChooser, SIDECAR_SUFFIX, type Coding } from '../files/precompressed.js';
import { contentTypeOf } from '../files/mime.js';
import { compileCacheHeaders } from '../files/cache-headers.js';
import { listedEntries, listingHtml, listingJson } from '../files/listing.js';
import { streamPieces, writePieces } from '../files/stream-file.js';
import { compileTryFiles } from '../files/try-files.js';
import { proxyHandler } from './proxy.js';
import { SpoolBudget } from '../buffering/spool-budget.js';
import type { UpstreamGroups } from '../upstream/groups.js';
import { send, sendError } from '../http/send.js';
import type { RouteContext } from './handler.js';
import type { RouteHandler } from '../http/route-handler.js';

export interface FilesDeps {
  /** The route's location: alias replaces its prefix. */
  spec: LocationSpec;
  /** Relative root/alias resolve against this (the config file's directory). */
  baseDir: string;
  pools: UpstreamPools;
  groups: UpstreamGroups;
  log: ErrorLog;
  /** The process's temp-file budget, for the fallback proxy; default: unlimited. */
  spool?: SpoolBudget;
  /** Tests: a fake file system or clock. */
  fs?: FsBinding;
  now?: () => number;
}

const METHOD_NOT_ALLOWED = '405 Method Not Allowed\n';

export function filesHandler(cfg: FilesConfig, ctx: RouteContext, deps: FilesDeps): RouteHandler {
  const map = compilePathMap(cfg, deps.spec, deps.baseDir);
  const fs = deps.fs ?? nodeFs;
  const confine = !cfg.follow_symlinks_outside;
  const cache = new FileCache(map.dir, fs, { valid: cfg.file_cache_valid, confine, now: deps.now });
  const tryFiles = compileTryFiles(cfg.try_files);
  const fallback = cfg.fallback ? proxyHandler(cfg.fallback.proxy, ctx, { ...deps, spool: deps.spool ?? new SpoolBudget() }) : undefined;
  const codingsFor = codingChooser(cfg.precompressed);
  const vary = cfg.precompressed.length > 0;
  const cacheHeaders = compileCacheHeaders(cfg.cache_control, cfg.expires);
  const { hidden, index, browse, etag: useEtag } = cfg;
  const notFoundStatus = tryFiles?.status ?? 404;
  const log = deps.log;
  if (!existsSync(map.dir)) log.warn('files: directory does not exist (yet); requests get 404 until it does', { route: ctx.name, dir: map.dir });

  function notFound(ex: Exchange): void {
    if (fallback) fallback.handle(ex);
    else sendError(ex, notFoundStatus);
  }

  async function serve(ex: Exchange): Promise<void> {
    const rel = map.rel(ex);
    if (rel === undefined) return notFound(ex);
    const verdict = checkRelative(rel, hidden);
    if (verdict === 400) return sendError(ex, 400);
    if (verdict === 404) return notFound(ex);
    if (tryFiles) return serveCandidates(ex, rel, tryFiles.candidates);
    const file = joinInside(map.dir, rel);
    if (file === undefined) return sendError(ex, 400);
    const found = cache.lookup(file);
    const entry = found instanceof Promise ? await found : found;
    switch (entry.kind) {
      case 'file':
        return serveFile(ex, entry);
      case 'dir':
        // nginx: a directory is served at its "/" form only.
        if (!ex.path.endsWith('/')) {
          return send(ex, 301, ['Location', encodePath(ex.path) + '/' + ex.query, 'Content-Length', '0'], '');
        }
        if (!(await serveDirectory(ex, file))) notFound(ex);
        return;
      case 'missing':
        return notFound(ex);
      default:
        return sendError(ex, 403); // unreadable, or a symlink leaving the directory
    }
  }

  async function serveCandidates(ex: Exchange, rel: string, candidates: NonNullable<typeof tryFiles>['candidates']): Promise<void> {
    for (const candidate of candidates) {
      const path = candidate(ex, rel);
      if (checkRelative(path, hidden) !== 0) continue;
      const file = joinInside(map.dir, path);
      if (file === undefined) continue;
      const found = cache.lookup(file);
      const entry = found instanceof Promise ? await found : found;
      if (path.endsWith('/')) {
        if (entry.kind === 'dir' && (await serveDirectory(ex, file))) return;
      } else if (entry.kind === 'file') {
        return serveFile(ex, entry);
      }
    }
    notFound(ex);
  }

  /** Index files, then a listing; false when neither applies. */
  async function serveDirectory(ex: Exchange, dir: string): Promise<boolean> {
    const base = dir.endsWith('/') ? dir : dir + '/';
    for (const name of index) {
      const found = cache.lookup(base + name);
      const entry = found instanceof Promise ? await found : found;
      if (entry.kind === 'file') {
        // nginx's index is an internal redirect: $uri ({path}) names the index file from here on.
        if (ex.path.endsWith('/')) ex.path += name;
        await serveFile(ex, entry);
        return true;
      }
    }
    if (browse === false) return false;
    await sendListing(ex, base);
    return true;
  }

  async function serveFile(ex: Exchange, entry: FileEntry): Promise<void> {
    const req = ex.req;
    let variant = entry;
    let coding: Coding | undefined;
    for (const c of codingsFor(req.headers['accept-encoding'])) {
      const found = cache.lookup(entry.path + SIDECAR_SUFFIX[c]);
      const side = found instanceof Promise ? await found : found;
      if (side.kind === 'file') {
        variant = side;
        coding = c;
        break;
      }
    }
    // Another request may have re-checked the entry while this one waited for a sidecar.
    if (variant.kind !== 'file' || variant.stat === undefined) return notFound(ex);
    const size = variant.stat.size;
    // A coding is another representation, so another tag (RFC 9110 §8.8.3).
    const etag = !useEtag ? undefined : coding === undefined ? variant.etag : `${variant.etag.slice(0, -1)}-${coding}"`;
    const validators: Validators = { etag, mtimeSec: variant.mtimeSec };
    const headers: string[] = ['Last-Modified', variant.lastModified];
    if (etag !== undefined) headers.push('ETag', etag);
    if (vary) headers.push('Vary', 'Accept-Encoding');
    cacheHeaders(headers);

    const precondition = evaluatePreconditions(req.headers, validators);
    if (precondition === 412) return sendError(ex, 412);
    if (precondition === 304) {
      ex.writer.writeHead(304, '', headers);
      ex.writer.end();
      return;
    }

    const type = contentTypeOf(entry.path);
    const range = req.method === 'GET' && req.headers.range !== undefined && ifRangeAllows(req.headers, validators) ? req.headers.range : undefined;
    const ranges = range === undefined ? undefined : parseRange(range, size);
    if (ranges === 'unsatisfiable') {
      const body = '416 Range Not Satisfiable\n';
      return send(ex, 416, ['Content-Range', `bytes */${size}`, 'Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length)], body);
    }
    headers.push('Accept-Ranges', 'bytes');
    if (coding !== undefined) headers.push('Content-Encoding', coding);
    let status = 200;
    let pieces: Piece[];
    let length: number;
    if (ranges === undefined) {
      headers.push('Content-Type', type);
      pieces = size === 0 ? [] : [{ start: 0, end: size - 1 }];
      length = size;
    } else if (ranges.length === 1) {
      const r = ranges[0]!;
      status = 206;
      headers.push('Content-Type', type, 'Content-Range', `bytes ${r.start}-${r.end}/${size}`);
      pieces = [r];
      length = r.end - r.start + 1;
    } else {
      status = 206;
      const boundary = randomBytes(12).toString('hex');
      headers.push('Content-Type', `multipart/byteranges; boundary=${boundary}`);
      ({ pieces, length } = byteranges(ranges, type, size, boundary));
    }
    headers.push('Content-Length', String(length));

    if (req.method === 'HEAD') {
      ex.writer.writeHead(status, '', headers);
      ex.writer.end();
      return;
    }
    const cached = cache.body(variant);
    const body = cached instanceof Promise ? await cached : cached;
    if (body !== undefined) {
      ex.writer.writeHead(status, '', headers);
      return writePieces(ex.writer, body, pieces);
    }
    const fd = await fs.open(variant.path);
    if (fd === undefined || fd === 'forbidden') {
      cache.invalidate(variant);
      return fd === undefined ? notFound(ex) : sendError(ex, 403);
    }
    if (ex.writer.destroyed) return fs.close(fd);
    ex.writer.writeHead(status, '', headers);
    streamPieces(ex.writer, fs, fd, pieces, (err) => log.error('file read failed', { route: ctx.name, path: variant.path, err: err.message }));
  }

  async function sendListing(ex: Exchange, dir: string): Promise<void> {
    const [all, realDir] = await Promise.all([fs.list(dir), confine ? cache.realDirectory() : undefined]);
    const shown = all.filter(
      (e) =>
        e.stat.kind !== 'other' &&
        checkRelative('/' + e.name, hidden) === 0 &&
        !(confine && e.symlink && (e.realpath === undefined || realDir === undefined || !inside(realDir, e.realpath))),
    );
    const entries = listedEntries(shown);
    const json = browse === 'json' || (browse === true && (ex.req.headers.accept ?? '').includes('application/json'));
    const body = Buffer.from(json ? listingJson(entries) : listingHtml(ex.path, entries));
    const headers = ['Content-Type', json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8', 'Content-Length', String(body.length)];
    if (browse === true) headers.push('Vary', 'Accept');
    send(ex, 200, headers, body);
  }

  function fail(ex: Exchange, err: unknown): void {
    log.error('files handler failed', { route: ctx.name, path: ex.path, err: (err as Error)?.stack ?? String(err) });
    if (!ex.writer.headersSent) sendError(ex, 500);
    else ex.writer.destroy();
  }

  const handler: RouteHandler = {
    handle(ex) {
      const method = ex.req.method;
      if (method !== 'GET' && method !== 'HEAD') {
        if (fallback) return fallback.handle(ex);
        return send(
          ex,
          405,
          ['Allow', 'GET, HEAD', 'Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(METHOD_NOT_ALLOWED.length)],
          METHOD_NOT_ALLOWED,
        );
      }
      serve(ex).catch((err: unknown) => fail(ex, err));
    },
  };
  // WebSockets under a "static else app" route belong to the app.
  const upgrade = fallback?.upgrade;
  if (upgrade) handler.upgrade = (ex, socket, head) => upgrade(ex, socket, head);
  return handler;
}
