// Writing the audit feed to an HTTP response: export formats page by page with backpressure
// (memory stays flat however many records), and the server-sent-events tail.
import type { Response } from 'express';
import {
  canonicalJson,
  frameOctetCounted,
  toCef,
  toNdjsonLine,
  toOcsf,
  toSyslog,
  type AuditRecord,
  type SyslogOptions,
} from '#audit';
import type { AuditFeed, AuditQuery } from './audit-feed.js';
import type { AuditFormat } from './dto.js';

export type ExportFormat = Exclude<AuditFormat, 'json'>;

export const CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  // One canonical-JSON record per line.
  ndjson: 'application/x-ndjson; charset=utf-8',
  // One OCSF 1.8.0 event (canonical JSON) per line.
  ocsf: 'application/x-ndjson; charset=utf-8',
  // One CEF:0 line per record, each ended by LF.
  cef: 'text/plain; charset=utf-8',
  // RFC 5424 messages, each framed by octet counting (RFC 6587): "<bytes> <message>", no separator.
  syslog: 'application/octet-stream',
};

export function formatter(format: ExportFormat, syslog: SyslogOptions = {}): (record: AuditRecord) => string {
  switch (format) {
    case 'ndjson':
      return toNdjsonLine;
    case 'ocsf':
      return (record) => `${canonicalJson(toOcsf(record))}\n`;
    case 'cef':
      return (record) => `${toCef(record)}\n`;
    case 'syslog':
      return (record) => frameOctetCounted(toSyslog(record, syslog));
  }
}

/** The client went away: stop quietly. */
export class ClientGone extends Error {}

/** Writes a chunk; when the socket's buffer is full, waits for it to drain (or the client to go). */
export async function send(res: Response, chunk: string): Promise<void> {
  if (res.destroyed || res.writableEnded) throw new ClientGone('the client closed the connection');
  if (res.write(chunk, 'utf8')) return;
  await new Promise<void>((resolve, reject) => {
    const drained = () => {
      cleanup();
      resolve();
    };
    const closed = () => {
      cleanup();
      reject(new ClientGone('the client closed the connection'));
    };
    const cleanup = () => {
      res.off('drain', drained);
      res.off('close', closed);
    };
    res.once('drain', drained);
    res.once('close', closed);
  });
}

/**
 * Streams every record of `query` up to the feed's head as it is when the export starts (so an
 * export ends while records keep arriving), page by page: one page in memory at a time, and the
 * next page read only once the client has taken the previous one.
 */
export async function exportRecords(
  res: Response,
  feed: AuditFeed,
  query: Omit<AuditQuery, 'limit' | 'until'> & { readonly limit?: number },
  format: (record: AuditRecord) => string,
  pageSize = 500,
): Promise<{ readonly records: number; readonly until: number }> {
  const until = await feed.head();
  res.setHeader('Audit-Head', String(until));
  let after = query.after;
  let remaining = query.limit ?? Number.POSITIVE_INFINITY;
  let records = 0;
  while (remaining > 0) {
    const limit = Math.min(pageSize, remaining);
    const page = await feed.after({ ...query, after, until, limit });
    if (page.length === 0) break;
    let chunk = '';
    for (const record of page) chunk += format(record);
    await send(res, chunk);
    records += page.length;
    remaining -= page.length;
    after = page.at(-1)?.globalPosition ?? after;
    if (page.length < limit) break;
  }
  return { records, until };
}

export interface SseOptions {
  /** Records after this cursor. */
  readonly after: number;
  readonly tenantIds?: readonly string[];
  readonly category?: string;
  /** A comment line when nothing was written for this long. */
  readonly heartbeatMs: number;
  readonly signal: AbortSignal;
  readonly pageSize?: number;
}

/**
 * The SSE tail: each record as `id: <global cursor>`, `event: directoryAudit|signIn`,
 * `data: <canonical JSON>`; comment lines as heartbeats. Runs until `signal` aborts or the client
 * goes. No gap and no duplicate: records are read in global order after the last id sent, and the
 * read model commits them in that order (a record never appears below one already visible).
 */
export async function tail(res: Response, feed: AuditFeed, options: SseOptions): Promise<void> {
  let cursor = options.after;
  // How far the filtered reads have looked: the wait for more starts here, not at the last record
  // this client may see (other tenants' records after it would wake the wait at once, forever).
  let scanned = cursor;
  let lastWrite = Date.now();
  const pageSize = options.pageSize ?? 200;
  while (!options.signal.aborted) {
    const head = await feed.head();
    if (head > scanned) {
      const page = await feed.after({
        after: cursor,
        until: head,
        limit: pageSize,
        ...(options.tenantIds !== undefined ? { tenantIds: options.tenantIds } : {}),
        ...(options.category !== undefined ? { category: options.category } : {}),
      });
      if (page.length > 0) {
        let chunk = '';
        for (const record of page) {
          chunk += `id: ${record.globalPosition}\nevent: ${record.recordType}\ndata: ${canonicalJson(record)}\n\n`;
        }
        await send(res, chunk);
        lastWrite = Date.now();
        cursor = page.at(-1)?.globalPosition ?? cursor;
      }
      scanned = page.length < pageSize ? head : cursor;
      continue;
    }
    const quiet = Date.now() - lastWrite;
    if (quiet >= options.heartbeatMs) {
      await send(res, `: heartbeat ${new Date().toISOString()}\n\n`);
      lastWrite = Date.now();
      continue;
    }
    await feed.waitForMore(scanned, options.heartbeatMs - quiet, options.signal);
  }
}
