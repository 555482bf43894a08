// Which stream layout a store is written in. Stores written before per-object streams (layout 1)
// kept each tenant's whole directory in the tenant's stream; today's code reads them only after
// `cli migrate` (./migrate-store.ts) has closed those streams with images. The layout is a marker
// stream of its own, written once: by the first start on an empty store, or by the migration.
import { v7 as uuidv7 } from 'uuid';
import { CURRENT_STORE_LAYOUT, streams } from '#domain';
import { WrongExpectedVersionError, type EventStore } from '#event-store';

export const STORE_LAYOUT_SET = 'StoreLayoutSet';

export class StoreLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreLayoutError';
  }
}

/**
 * The store's layout: the marker's, or 1 when a store that already holds the service's events has
 * none (every start of the older versions wrote the claim hash key), or undefined when it is empty.
 */
export async function storeLayout(store: EventStore): Promise<number | undefined> {
  const marker = (await store.readStream(streams.layout)).events.at(-1);
  const layout = marker?.data['layout'];
  if (typeof layout === 'number') return layout;
  return (await store.readStream(streams.claimKey)).version >= 0 ? 1 : undefined;
}

/** Records the layout the store is now in; a marker written meanwhile by another instance is kept. */
export async function markStoreLayout(store: EventStore, layout = CURRENT_STORE_LAYOUT): Promise<void> {
  const { version } = await store.readStream(streams.layout);
  try {
    await store.append([
      {
        streamId: streams.layout,
        expectedVersion: version < 0 ? 'no_stream' : version,
        events: [
          {
            eventId: uuidv7(),
            type: STORE_LAYOUT_SET,
            schemaVersion: 1,
            data: { layout },
            occurredAt: new Date().toISOString(),
            correlationId: uuidv7(),
            actor: { appId: 'account-service' },
          },
        ],
      },
    ]);
  } catch (error) {
    if (!(error instanceof WrongExpectedVersionError)) throw error;
    if ((await storeLayout(store)) !== layout) throw error;
  }
}

/** At start: marks an empty store as today's layout; refuses one in an older layout. */
export async function checkStoreLayout(store: EventStore): Promise<void> {
  const layout = await storeLayout(store);
  if (layout === undefined) return markStoreLayout(store);
  if (layout < CURRENT_STORE_LAYOUT) {
    throw new StoreLayoutError(
      `The store is in stream layout ${layout}, written by an earlier version; this version reads layout ${CURRENT_STORE_LAYOUT}. ` +
        'Migrate it first, with the service stopped: npm run cli -- migrate (same DATA_DIR / EVENT_STORE / DATABASE_URL).',
    );
  }
  if (layout > CURRENT_STORE_LAYOUT) {
    throw new StoreLayoutError(
      `The store is in stream layout ${layout}, written by a newer version; this version reads layout ${CURRENT_STORE_LAYOUT}.`,
    );
  }
}
