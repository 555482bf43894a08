// Names the streams whose names would otherwise hold personal data (a UPN, an address, a domain):
// claim streams and the domain ledgers are named by a keyed hash of the value, so no stream id
// says which value it is about. The key lives in the event store itself, created once with an
// expected-version check, so every instance on one store derives the same names. Every other
// name comes from the domain (#domain streams.ts).
import { createHmac, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { EventStore, WrongExpectedVersionError } from '#event-store';
import { streams, type ClaimKind, type DirectoryAggregate } from '#domain';

export class StreamNames {
  private constructor(private readonly key: Buffer) {}

  static async load(store: EventStore): Promise<StreamNames> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { events } = await store.readStream(streams.claimKey);
      const stored = events[0]?.data['key'];
      if (typeof stored === 'string') return new StreamNames(Buffer.from(stored, 'base64'));
      try {
        await store.append([
          {
            streamId: streams.claimKey,
            expectedVersion: 'no_stream',
            events: [
              {
                eventId: uuidv7(),
                type: 'ClaimHashKeyCreated',
                schemaVersion: 1,
                data: { key: randomBytes(32).toString('base64') },
                occurredAt: new Date().toISOString(),
                correlationId: uuidv7(),
                actor: { appId: 'account-service' },
              },
            ],
          },
        ]);
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
    }
    throw new Error('could not read or create the claim hash key');
  }

  private digest(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('hex').slice(0, 40);
  }

  /** The claim stream of a unique value. */
  claim(kind: ClaimKind, value: string): string {
    return streams.claim(kind, this.digest(`${kind}:${value}`));
  }

  /** The stream of one aggregate of a tenant's directory. */
  directory(tenantId: string, aggregate: DirectoryAggregate): string {
    switch (aggregate.kind) {
      case 'tenant':
        return streams.tenant(tenantId);
      case 'user':
        return streams.user(aggregate.userId);
      case 'seats':
        return streams.seats(aggregate.subscriptionId);
      case 'domainUse':
        return streams.domainUse(this.digest(`domain-use:${tenantId}:${aggregate.domain}`));
    }
  }
}
