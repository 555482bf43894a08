// The audit feed as its consumers see it (HTTP pull, SSE tail, syslog and Kafka relays): records
// in global order, each with its tenant chain's sequence and hash.
import type { AuditRecord } from '#audit';

export const AUDIT_FEED = Symbol('AUDIT_FEED');

export interface AuditQuery {
  /** Records with a global cursor (the event's global position) greater than this. */
  readonly after: number;
  /** Records with a global cursor at most this (the end of a snapshot); undefined: no bound. */
  readonly until?: number;
  readonly limit: number;
  /** Only these chains ('' is the service chain); undefined: all. */
  readonly tenantIds?: readonly string[];
  readonly category?: string;
  /** RFC 3339 bounds on activityDateTime, inclusive. */
  readonly from?: string;
  readonly to?: string;
}

export interface AuditFeed {
  /** Records in global order. */
  after(query: AuditQuery): Promise<AuditRecord[]>;
  /** The global cursor of the last record (0 if none). */
  head(): Promise<number>;
  /**
   * Resolves when a record with a cursor greater than `cursor` exists, or after `timeoutMs`, or
   * when `signal` aborts (never rejects).
   */
  waitForMore(cursor: number, timeoutMs: number, signal?: AbortSignal): Promise<void>;
}

/** How far a relay at `position` is behind the feed's head, for its status; nothing when the feed doesn't answer. */
export async function lagBehind(
  feed: Pick<AuditFeed, 'head'>,
  position: number,
): Promise<{ readonly head?: number; readonly lag?: number }> {
  try {
    const head = await feed.head();
    return { head, lag: Math.max(0, head - position) };
  } catch {
    return {};
  }
}
