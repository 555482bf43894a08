// Integration tier: the KurrentDB adapter against a real server, whenever
// EVENTSTORE_CONNECTION_STRING is set (docker compose: kurrentdb://localhost:2113?tls=false).
// Without it the suite is skipped, and says so: nothing here passes without a server.
// Every store gets a namespace of its own, so one long-lived server serves any number of runs.
import { randomBytes } from 'node:crypto';
import type { KurrentDBClient } from '@kurrent/kurrentdb-client';
import { afterAll, describe } from 'vitest';
import { eventStoreContract } from '../testing/contract.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import { eventStoreDbAdapterSuite } from './testing/adapter-suite.js';

const CONNECTION_STRING = process.env.EVENTSTORE_CONNECTION_STRING;

if (!CONNECTION_STRING) {
  console.warn(
    'KurrentDB contract suite SKIPPED: EVENTSTORE_CONNECTION_STRING is not set ' +
      "(docker compose up -d kurrentdb, then EVENTSTORE_CONNECTION_STRING='kurrentdb://localhost:2113?tls=false')",
  );
}

function freshNamespace(): string {
  return `t${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

describe.skipIf(!CONNECTION_STRING)('KurrentDB server', () => {
  // One client for the stores of the contract (which do not own it), so that every test does not
  // open a connection of its own.
  let shared: Promise<KurrentDBClient> | undefined;
  const sharedClient = (): Promise<KurrentDBClient> =>
    (shared ??= import('@kurrent/kurrentdb-client').then(({ KurrentDBClient }) =>
      KurrentDBClient.connectionString(CONNECTION_STRING ?? ''),
    ));

  afterAll(async () => {
    await (await shared)?.dispose();
  });

  eventStoreContract('eventstoredb', async () => {
    const store = await EventStoreDbEventStore.connect({
      client: await sharedClient(),
      namespace: freshNamespace(),
    });
    return { store };
  });

  // Instances with clients of their own: as separate processes would be.
  eventStoreDbAdapterSuite('KurrentDB server', {
    open: (namespace, tuning) =>
      EventStoreDbEventStore.connect({ connectionString: CONNECTION_STRING ?? '', namespace, ...tuning }),
    freshNamespace,
  });
});
