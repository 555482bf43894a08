// Names claim streams by a keyed hash of the claimed value, so no personal data (an address, a
// domain) appears in a stream id. The key lives in the event store itself, created once with an
// expected-version check, so every instance on one store derives the same names.
import { createHmac, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { EventStore, WrongExpectedVersionError } from '#event-store';
import type { ClaimKind } from '#domain';

export const CLAIM_KEY_STREAM = 'service-claim-key';

export class ClaimStreams {
  private constructor(private readonly key: Buffer) {}

  static async load(store: EventStore): Promise<ClaimStreams> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { events } = await store.readStream(CLAIM_KEY_STREAM);
      const stored = events[0]?.data['key'];
      if (typeof stored === 'string') return new ClaimStreams(Buffer.from(stored, 'base64'));
      try {
        await store.append([
          {
            streamId: CLAIM_KEY_STREAM,
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

  streamId(kind: ClaimKind, value: string): string {
    const digest = createHmac('sha256', this.key).update(`${kind}:${value}`).digest('hex').slice(0, 40);
    return `claim-${kind}-${digest}`;
  }
}
