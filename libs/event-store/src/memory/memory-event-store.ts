// The in-memory adapter: for unit tests and replays. Same rules as the durable adapters (they
// share the append planner and the subscription loop); nothing survives the process.
import { assertReadAllArgs, planAppend, type AppendState, type StoredEventRef } from '../core/append-plan.js';
import { fromVersionOf } from '../core/read-stream-options.js';
import { ChangeSignal, PollingSubscription } from '../core/subscription.js';
import type {
  AppendResult,
  EventStore,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  StreamAppend,
  SubscribeOptions,
  Subscription,
} from '../port.js';

export interface InMemoryEventStoreOptions {
  /** Events per read while a subscription catches up. Default 500. */
  readonly pageSize?: number;
}

export class InMemoryEventStore implements EventStore {
  // Stored events are deep-frozen (see planAppend), so handing out the same objects is safe.
  private readonly log: RecordedEvent[] = [];
  private readonly byId = new Map<string, RecordedEvent>();
  private readonly byStream = new Map<string, RecordedEvent[]>();
  private readonly changes = new ChangeSignal();
  private readonly subscriptions = new Set<PollingSubscription>();
  private readonly pageSize: number;
  private closed = false;

  private readonly state: AppendState = {
    streamVersion: (streamId) => (this.byStream.get(streamId)?.length ?? 0) - 1,
    findEvent: (eventId): StoredEventRef | undefined => this.byId.get(eventId),
    headPosition: () => this.log.length,
  };

  constructor(options: InMemoryEventStoreOptions = {}) {
    this.pageSize = options.pageSize ?? 500;
  }

  // Every method body runs synchronously up to its return, so appends are atomic and serialised
  // by the event loop without any lock.
  async append(entries: readonly StreamAppend[]): Promise<AppendResult> {
    this.assertOpen();
    const plan = planAppend(entries, this.state);
    if (plan.kind === 'retry') return plan.result;
    for (const event of plan.events) {
      this.log.push(event);
      this.byId.set(event.eventId, event);
      const stream = this.byStream.get(event.streamId);
      if (stream) stream.push(event);
      else this.byStream.set(event.streamId, [event]);
    }
    if (plan.events.length > 0) this.changes.notify();
    return plan.result;
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult> {
    this.assertOpen();
    const from = fromVersionOf(options);
    // Versions are 0-based and gap-free, so version v sits at index v.
    const stream = this.byStream.get(streamId) ?? [];
    return { version: stream.length - 1, events: stream.slice(from) };
  }

  async readAll(after: number, limit: number): Promise<readonly RecordedEvent[]> {
    this.assertOpen();
    assertReadAllArgs(after, limit);
    // Positions are 1-based and gap-free, so position p sits at index p - 1.
    const start = Math.max(0, Math.floor(after));
    return this.log.slice(start, start + limit);
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.log.length;
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.assertOpen();
    const source = { readAll: this.readAll.bind(this), changes: this.changes };
    const subscription = new PollingSubscription(source, options, this.pageSize, (ended) =>
      this.subscriptions.delete(ended),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('event store is closed');
  }
}
