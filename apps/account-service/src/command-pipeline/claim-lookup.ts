// Who holds a unique value: read off its claim stream. The claim's envelope carries the tenant the
// claiming command ran in, which is how an invitation id or a UPN leads to its tenant.
import { Inject, Injectable } from '@nestjs/common';
import type { ClaimKind } from '#domain';
import type { EventStore } from '#event-store';
import { ClaimStreams } from './claim-streams.js';
import { EVENT_STORE } from './tokens.js';

export interface ClaimHolder {
  readonly ownerId: string;
  readonly tenantId?: string;
  /** The claim stream's id and version (guard it to make a decision depend on it). */
  readonly streamId: string;
}

@Injectable()
export class ClaimLookup {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ClaimStreams) private readonly claims: ClaimStreams,
  ) {}

  streamId(kind: ClaimKind, value: string): string {
    return this.claims.streamId(kind, value);
  }

  /** The current holder, or undefined when the value is free (never claimed, or released). */
  async holder(kind: ClaimKind, value: string): Promise<ClaimHolder | undefined> {
    const streamId = this.claims.streamId(kind, value);
    const { events } = await this.store.readStream(streamId);
    const last = events.at(-1);
    if (!last || last.type !== 'UniquenessClaimed') return undefined;
    const ownerId = last.data['ownerId'];
    if (typeof ownerId !== 'string') return undefined;
    return { ownerId, streamId, ...(last.tenantId ? { tenantId: last.tenantId } : {}) };
  }
}
